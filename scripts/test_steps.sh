#!/usr/bin/env bash
# `make test`: every check the project has, one timed step each. A failing step does not
# stop the others (one run shows every failure); the exit status is non-zero if any failed.
# At the end: each step's duration, then both pytest passes' counts in one closing line.
set -uo pipefail
cd "$(dirname "$0")/.."
steps=(
  "lint (ruff, import layers, lock)|lint"
  "frontend bundle rebuilt from frontend/ (npm ci, npm run build)|check-frontend"
  "type check (mypy)|typecheck"
  "pytest, embedded mode|pytest-embedded"
  "pytest, production mode (PostgreSQL, Redis, Celery, Docker)|pytest-production"
  "exercises fair and sharp: bwrap backend|check-exercises-bwrap"
  "exercises fair (the reference): docker backend|check-exercises-docker"
)
logs=$(mktemp -d "${TMPDIR:-/tmp}/faultline-test.XXXXXX")
summary=() failed=()
for entry in "${steps[@]}"; do
  name=${entry%%|*} target=${entry##*|}
  echo "== $name (make $target)"
  begun=$(date +%s)
  make --no-print-directory "$target" 2>&1 | tee "$logs/$target.log"
  status=${PIPESTATUS[0]}
  mark=ok
  if ((status)); then mark="FAILED ($status)"; failed+=("$name"); fi
  summary+=("$(printf '%5ds  %-11s %s' $(( $(date +%s) - begun )) "$mark" "$name")")
done
count() {  # the number before WORD in pytest's closing lines ("== 3 failed, 5 passed in 2s ==")
  grep -hsE '^=+ .* in [0-9.]+s' "$logs"/pytest-*.log | grep -oE "[0-9]+ $1" | awk '{n += $1} END {print n + 0}'
}
echo "== test steps"
printf '%s\n' "${summary[@]}"
((${#failed[@]})) && printf 'failed: %s\n' "${failed[@]}"
echo "pytest: $(count passed) passed, $(( $(count failed) + $(count "errors?") )) failed"
rm -rf "$logs"
((${#failed[@]} == 0))
