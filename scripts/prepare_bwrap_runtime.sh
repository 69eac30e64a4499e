#!/usr/bin/env bash
# Prepare the bwrap sandbox runtime (var/sandbox-runtime): idempotent, a no-op when current.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m sandbox prepare-runtime "$@"
