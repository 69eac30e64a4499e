#!/usr/bin/env bash
# Build a Debian base image with no registry: mmdebstrap a bookworm root
# filesystem (python3, python3-venv, nodejs) and `docker import` it.
# Usage: build_local_base.sh TAG   (skips the work when TAG already exists)
set -euo pipefail
tag="${1:?usage: build_local_base.sh TAG}"
if docker image inspect "$tag" >/dev/null 2>&1; then
    echo "base image $tag exists, skipping"
    exit 0
fi
command -v mmdebstrap >/dev/null || { echo "mmdebstrap missing: apt-get install -y mmdebstrap" >&2; exit 1; }
work="$(mktemp -d /tmp/faultline-base.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mmdebstrap --quiet --variant=apt \
    --include=python3,python3-venv,nodejs,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    bookworm "$work/rootfs.tar"
docker import "$work/rootfs.tar" "$tag" >/dev/null
echo "built base image $tag"
