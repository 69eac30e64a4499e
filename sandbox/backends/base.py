"""The shape every backend has, and the bits they share.

A new backend is made by copying bwrap.py or docker_engine.py: a class with a
`name`, `status()`, `run()`, `sweep()` and `leftovers()`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import ClassVar, Protocol

from sandbox.config import SANDBOX_PATH, SANDBOX_TMP
from sandbox.spec import BackendStatus, Limits, RunResult, RunSpec


class Backend(Protocol):
    name: ClassVar[str]

    def status(self) -> BackendStatus:
        """Whether this backend can run sandboxes here; never raises."""
        ...

    def run(self, spec: RunSpec) -> RunResult:
        """Run a checked spec (see inputs.check_spec) and clean up everything it made."""
        ...

    def sweep(self, dead_owner: int | None = None) -> int:
        """Remove what dead harnesses left behind (`dead_owner`: a pid known to have
        exited, perhaps not yet reaped); return how many things were removed."""
        ...

    def leftovers(self, run_id: str) -> list[str]:
        """Host resources of `run_id` that still exist (empty after every run)."""
        ...


def new_run_id() -> str:
    return secrets.token_hex(6)


def party_env(env: Mapping[str, str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a party: what the caller gave, plus a few defaults."""
    result = {
        "PATH": SANDBOX_PATH,
        "HOME": SANDBOX_TMP,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result.update(env)
    if extra:
        result.update(extra)
    return result


# Open files per process (RLIMIT_NOFILE, soft and hard): the usual Linux default,
# plenty for an app and its tests, and a party's processes together cannot fill
# the host's file table (which no cgroup v1 limit bounds) as the harness's
# inherited limit (often 20000 or more, times every process) could.
OPEN_FILES = 1024


# The candidate app's uid on the host: a new one for every run, drawn from 2**30
# otherwise unused uids (a repeat is a one-in-millions chance and shares only
# counters), so nothing the kernel counts per user (inotify instances and
# watches, pipe buffers, message queues, RLIMIT_NPROC) is shared between
# candidates: with one fixed uid, a single app holding its 128 inotify instances
# left none for any other. Inside a bwrap sandbox the app still sees APP_UID.
APP_HOST_UIDS = range(1 << 30, 1 << 31)


def app_host_uid() -> int:
    return APP_HOST_UIDS[secrets.randbelow(len(APP_HOST_UIDS))]


def cpu_rlimit(limits: Limits) -> tuple[int, int]:
    """RLIMIT_CPU for a party: whole seconds, soft (SIGXCPU) then hard (SIGKILL) a second later."""
    soft = max(1, int(limits.cpu_seconds + 0.999))
    return soft, soft + 1
