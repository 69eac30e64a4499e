"""Sandbox settings, read from the environment in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sandbox.spec import SandboxError

REPO_ROOT = Path(__file__).resolve().parent.parent
BACKEND_NAMES = ("bwrap", "docker")

# The uids the parties have inside a sandbox (their /etc/passwd names app and tester).
# On the host the app runs as a fresh uid drawn for every run (backends.base.app_host_uid)
# and the tester as TESTER_UID: the two never share one, so neither can signal or write
# into the other even if both were visible.
APP_UID = 64101
TESTER_UID = 64102

# Mount points inside every sandbox, identical on both backends.
APP_DIR = "/workspace"
TESTER_DIR = "/tester"
REPORT_DIR = "/report"
# Paths inside the sandbox, not on the host: the S108 temp-file warning does not apply.
SANDBOX_TMP = "/tmp"  # noqa: S108
SANDBOX_SHM = "/dev/shm"  # noqa: S108
VENV_DIR = "/opt/faultline-venv"
SANDBOX_PATH = f"{VENV_DIR}/bin:/usr/local/bin:/usr/bin:/bin"

# Cap on the tester's report.json; a larger file is refused, not read.
REPORT_MAX_BYTES = 1024 * 1024

PREPARE_RUNTIME_CMD = ".venv/bin/python -m sandbox prepare-runtime"
BUILD_IMAGE_CMD = "scripts/build_sandbox_image.sh"


@dataclass(frozen=True)
class SandboxConfig:
    default_backend: str
    runtime_dir: Path  # the bwrap runtime (venv + /etc pieces)
    scratch_dir: Path  # per-run tmpfs mounts of the bwrap backend
    docker_image: str
    docker_runtime: str | None  # e.g. "runsc"; None: the engine's default
    cpus: float  # CPU share of each party, in cores (a cgroup quota / the engine's)
    warm: int  # pre-started sandboxes each backend keeps ready for single-party runs
    # Host directories of the Docker backend's live sessions (bound into the sidecar):
    # the engine must see the same path, so it is on the engine's host.
    live_dir: Path = Path("/tmp/faultline-live")  # noqa: S108 - root-owned, checked


def _env_str(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SandboxError(f"{name}={raw!r} is not a number") from exc
    if value <= 0:
        raise SandboxError(f"{name} must be positive, got {raw!r}")
    return value


def _env_count(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise SandboxError(f"{name}={raw!r}: expected a whole number, 0 or more")
    return int(raw)


def load_config() -> SandboxConfig:
    backend = _env_str("FAULTLINE_SANDBOX_BACKEND", "bwrap")
    if backend not in BACKEND_NAMES:
        raise SandboxError(
            f"FAULTLINE_SANDBOX_BACKEND={backend!r}: expected one of {', '.join(BACKEND_NAMES)}"
        )
    return SandboxConfig(
        default_backend=backend,
        runtime_dir=Path(
            _env_str("FAULTLINE_SANDBOX_RUNTIME", str(REPO_ROOT / "var" / "sandbox-runtime"))
        ),
        scratch_dir=Path(
            _env_str(
                "FAULTLINE_SANDBOX_SCRATCH",
                # root-owned and checked by scratch.prepare_base, so a predictable name is safe
                "/tmp/faultline-sandbox",  # noqa: S108
            )
        ),
        docker_image=_env_str("FAULTLINE_SANDBOX_IMAGE", "faultline-sandbox:latest"),
        # SANDBOX_DOCKER_RUNTIME: the platform's name for it (the README's settings table).
        docker_runtime=_env_str(
            "FAULTLINE_SANDBOX_DOCKER_RUNTIME", _env_str("SANDBOX_DOCKER_RUNTIME", "")
        )
        or None,
        cpus=_env_float("FAULTLINE_SANDBOX_CPUS", 1.0),
        warm=_env_count("FAULTLINE_SANDBOX_WARM", 2),
        live_dir=Path(
            # root-owned and checked by live_dirs.make, so a predictable name is safe
            _env_str("FAULTLINE_SANDBOX_LIVE_DIR", "/tmp/faultline-live")  # noqa: S108
        ),
    )
