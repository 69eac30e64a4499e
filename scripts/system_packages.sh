#!/usr/bin/env bash
# Install the system packages Faultline needs and lacks, with apt-get (Debian, Ubuntu).
#
#   scripts/system_packages.sh        what `make run` needs: pip for the installer's
#                                     bootstrap, bubblewrap, a C compiler for the launcher
#   scripts/system_packages.sh --ci   and what CI's suites need too: Docker, mmdebstrap,
#                                     Chromium, uidmap, Node.js and npm (the bundle check)
#
# Silent and quick when nothing is missing. When something is missing and cannot be
# installed here (not root, or no apt-get), it prints one line naming the command to
# run and exits 1, before anything else has been done.
set -euo pipefail

ci=0
for arg in "$@"; do
  case "$arg" in
    --ci) ci=1 ;;
    *) echo "usage: $0 [--ci]" >&2; exit 2 ;;
  esac
done
python="${PYTHON:-python3}"

need=()
"$python" -m pip --version >/dev/null 2>&1 || need+=(python3-pip)  # bootstraps uv
command -v bwrap >/dev/null || need+=(bubblewrap)
# The launcher (sandbox/launcher.c) needs a compiler and the C library's headers.
{ command -v cc >/dev/null && [ -e /usr/include/stdlib.h ]; } || need+=(gcc libc6-dev)
if ((ci)); then
  command -v dockerd >/dev/null || need+=(docker.io)
  command -v mmdebstrap >/dev/null || need+=(mmdebstrap)  # the local base of the sandbox image
  command -v chromium >/dev/null || need+=(chromium)      # the browser tests
  command -v newuidmap >/dev/null || need+=(uidmap)
  command -v npm >/dev/null || need+=(nodejs npm)         # rebuilds the frontend bundle
fi
((${#need[@]})) || exit 0

if ! command -v apt-get >/dev/null; then
  echo "missing system packages: install ${need[*]} with this system's package manager, then run this again" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "missing system packages: run \`sudo apt-get install -y ${need[*]}\` (or run this as root)" >&2
  exit 1
fi
echo "installing system packages: ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
