#!/usr/bin/env bash
# Build the Docker sandbox runtime image, idempotently.
#
#   scripts/build_sandbox_image.sh            # local base (mmdebstrap + docker import), no registry
#   FAULTLINE_SANDBOX_BASE=python:3.12-slim scripts/build_sandbox_image.sh   # with a registry
#
# The image is tagged faultline-sandbox:<content hash> and faultline-sandbox:latest
# (the tag the docker backend uses unless FAULTLINE_SANDBOX_IMAGE says otherwise).
# When an image with the same content hash exists, nothing is rebuilt.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
images="$root/sandbox/images"
pip="${PIP:-$root/.venv/bin/pip}"
name="${FAULTLINE_SANDBOX_IMAGE_NAME:-faultline-sandbox}"

docker info >/dev/null 2>&1 || { echo "docker engine not reachable: start dockerd first" >&2; exit 1; }

base_hash="$(sha256sum "$images/build_local_base.sh" | cut -c1-12)"
base="${FAULTLINE_SANDBOX_BASE:-faultline-sandbox-base:$base_hash}"
hash="$(cat "$images/Dockerfile" "$images/runtime-requirements.txt" "$images/build_local_base.sh" \
        "$images/test_warm_pytest_cache.py" \
        <(echo "$base") | sha256sum | cut -c1-16)"
tag="$name:$hash"

if docker image inspect "$tag" >/dev/null 2>&1; then
    docker tag "$tag" "$name:latest"
    echo "sandbox image $tag exists (tagged $name:latest), skipping build"
    exit 0
fi

if [[ -z "${FAULTLINE_SANDBOX_BASE:-}" ]]; then
    "$images/build_local_base.sh" "$base"
fi

# Wheels must match the Python of the base image, not the host's.
pyver="$(docker run --rm --network none --entrypoint python3 "$base" \
         -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
wheels="$root/var/sandbox-wheelhouse/py$pyver"
mkdir -p "$wheels"
arch="$(uname -m)"
"$pip" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version "$pyver" --implementation cp \
    --platform "manylinux_2_17_$arch" --platform "manylinux2014_$arch" \
    --platform "manylinux_2_28_$arch" --platform any \
    -d "$wheels" -r "$images/runtime-requirements.txt"

ctx="$(mktemp -d /tmp/faultline-image.XXXXXX)"
trap 'rm -rf "$ctx"' EXIT
cp "$images/Dockerfile" "$images/runtime-requirements.txt" "$images/test_warm_pytest_cache.py" "$ctx/"
cp -r "$wheels" "$ctx/wheelhouse"
DOCKER_BUILDKIT=0 docker build --quiet --network none --build-arg "BASE=$base" \
    --label faultline.sandbox.image=1 -t "$tag" "$ctx" >/dev/null
docker tag "$tag" "$name:latest"
echo "built sandbox image $tag (tagged $name:latest)"
