#!/usr/bin/env bash
# The committed bundle (platform/web/static/web/dist) is what frontend/ builds: `npm ci`
# from the lock file, then `npm run build` into a temporary folder, compared file by file.
# Without npm this prints why it skipped and passes; in CI (CI=true) that is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
committed=platform/web/static/web/dist
if ! command -v npm >/dev/null; then
  if [ "${CI:-}" = true ]; then
    echo "frontend bundle: npm is missing (scripts/system_packages.sh --ci installs nodejs and npm)" >&2
    exit 1
  fi
  echo "skipped: no npm here, so the committed frontend bundle was not rebuilt and compared"
  exit 0
fi
built=$(mktemp -d "${TMPDIR:-/tmp}/faultline-bundle.XXXXXX")
trap 'rm -rf "$built"' EXIT
(cd frontend && npm ci --no-audit --no-fund --loglevel=error && FRONTEND_OUTDIR="$built" npm run --silent build)
if ! diff -r "$committed" "$built" >"$built.diff" 2>&1; then
  sed -e 's/^\(.\{200\}\).*/\1…/' "$built.diff" | head -40
  rm -f "$built.diff"
  echo "frontend bundle: $committed is not what frontend/ builds: run \`cd frontend && npm ci && npm run build\` and commit $committed" >&2
  exit 1
fi
rm -f "$built.diff"
echo "frontend bundle: $committed is what frontend/ builds"
