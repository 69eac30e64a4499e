"""Skip-or-fail helpers for tests that need real services.

On a laptop without Docker, Redis or PostgreSQL those tests skip. CI sets
FAULTLINE_REQUIRE_SERVICES=1, which turns every such skip into a failure, so
nothing is silently left out there.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess

import pytest

REQUIRE = os.environ.get("FAULTLINE_REQUIRE_SERVICES", "") in {"1", "true", "yes"}


def missing(what: str) -> None:
    """Skip (laptop) or fail (CI) because `what` is not available."""
    if REQUIRE:
        pytest.fail(f"required service unavailable: {what} (FAULTLINE_REQUIRE_SERVICES=1)")
    pytest.skip(f"{what} unavailable")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_redis() -> str:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    if not _port_open("127.0.0.1", 6379):
        missing("Redis at 127.0.0.1:6379")
    return url


def require_postgres() -> None:
    if not _port_open("127.0.0.1", 5432):
        missing("PostgreSQL at 127.0.0.1:5432")


def require_docker() -> None:
    if shutil.which("docker") is None:
        missing("docker client")
    try:
        subprocess.run(["docker", "info"], check=True, capture_output=True, timeout=20)
    except (subprocess.SubprocessError, OSError):
        missing("Docker engine")


def require_bwrap() -> None:
    if shutil.which("bwrap") is None:
        missing("bubblewrap (bwrap)")


def require_chromium() -> str:
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.path.exists(path):
        missing(f"Chromium at {path}")
    return path
