"""Run untrusted code in a sandbox: `sandbox.run(spec)`.

Backends: "bwrap" (bubblewrap, the embedded default) and "docker" (the Docker
engine, for production). Both take a `RunSpec` and return a `RunResult`; see
sandbox/spec.py for the contract.
"""

from __future__ import annotations

import threading

from sandbox.backends.base import Backend
from sandbox.config import BACKEND_NAMES, load_config
from sandbox.inputs import check_spec
from sandbox.spec import (
    BackendStatus,
    Files,
    InputRejected,
    Limits,
    Party,
    PartyResult,
    RunResult,
    RunSpec,
    SandboxError,
    SandboxUnavailable,
)

__all__ = [
    "Backend",
    "BackendStatus",
    "Files",
    "InputRejected",
    "Limits",
    "Party",
    "PartyResult",
    "RunResult",
    "RunSpec",
    "SandboxError",
    "SandboxUnavailable",
    "doctor",
    "get_backend",
    "run",
]

_backends: dict[str, Backend] = {}
_lock = threading.Lock()


def get_backend(name: str | None = None) -> Backend:
    """The backend called `name` (default: FAULTLINE_SANDBOX_BACKEND, else "bwrap")."""
    config = load_config()
    name = name or config.default_backend
    if name not in BACKEND_NAMES:
        raise SandboxUnavailable(
            f"unknown sandbox backend {name!r}: use {', '.join(BACKEND_NAMES)}"
        )
    with _lock:
        if name not in _backends:
            if name == "bwrap":
                from sandbox.backends.bwrap import BwrapBackend

                _backends[name] = BwrapBackend(config)
            else:
                from sandbox.backends.docker_engine import DockerBackend

                _backends[name] = DockerBackend(config)
        return _backends[name]


def run(spec: RunSpec, backend: str | None = None) -> RunResult:
    """Run `spec` in a sandbox and return what happened.

    Raises InputRejected for refused input (nothing ran), SandboxUnavailable or
    SandboxError when the sandbox itself failed (never the candidate's fault).
    """
    check_spec(spec)
    return get_backend(backend).run(spec)


def doctor() -> list[BackendStatus]:
    """Every backend, whether it is usable here, and why not."""
    statuses = []
    for name in BACKEND_NAMES:
        try:
            statuses.append(get_backend(name).status())
        except SandboxError as exc:
            statuses.append(BackendStatus(name, False, str(exc)))
    return statuses
