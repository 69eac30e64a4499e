"""What a sandbox run is asked to do and what it reports back.

This module is the contract between the sandbox backends and their callers
(the exercise runner, the grading pipeline, the command line). Plain Python:
nothing here may import Django.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Files are given as {relative POSIX path: content}. Paths are validated by the
# backends before anything runs (no "..", no absolute paths, valid UTF-8, size caps).
Files = Mapping[str, bytes]


@dataclass(frozen=True)
class Limits:
    """Resource limits for each party of a run."""

    wall_seconds: float = 30.0
    cpu_seconds: float = 30.0
    memory_mb: int = 256
    pids: int = 64
    disk_mb: int = 64  # writable scratch space (workspace + /tmp)
    output_bytes: int = 256 * 1024  # per stream (stdout, stderr), per party
    # input limits, checked before anything runs
    max_files: int = 1000
    max_file_bytes: int = 1024 * 1024
    max_total_bytes: int = 16 * 1024 * 1024


@dataclass(frozen=True)
class Party:
    """One process tree in the sandbox.

    `files` are materialised as a writable copy in the party's working
    directory (`/workspace` for the app, `/tester` for the tester). `env` is the
    whole environment: nothing is inherited from the host (the backend adds
    only PATH, HOME=/tmp, LANG=C.UTF-8 and PYTHONDONTWRITEBYTECODE=1 when absent).
    """

    command: list[str]
    files: Files = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSpec:
    """A single-party run (tester is None) or a two-party run (app + tester).

    Two-party: the app starts first and keeps running in the background; the
    tester runs to completion; then the app is stopped. They share only a
    private loopback network. The tester may write a JSON report to
    `$FAULTLINE_REPORT_DIR/report.json`, a directory the app cannot see.
    """

    app: Party
    tester: Party | None = None
    limits: Limits = field(default_factory=Limits)
    # Called with each complete line the *reporting* party writes to stdout
    # (the tester in a two-party run, the app otherwise), as it arrives.
    # Used for live progress; must be cheap and must not raise.
    on_line: Callable[[str], None] | None = None


@dataclass
class PartyResult:
    exit_code: int | None  # None when killed by the harness before it exited
    timed_out: bool
    oom_killed: bool
    stdout: str
    stderr: str
    output_truncated: bool
    wall_seconds: float


@dataclass
class RunResult:
    backend: str
    app: PartyResult
    tester: PartyResult | None = None
    report: dict[str, Any] | None = None  # parsed report.json, None if absent or invalid
    report_error: str | None = None  # why the report is None, when a tester ran
    wall_seconds: float = 0.0
    # Names every host resource of the run (cgroups, temp dirs, containers carry
    # it), so callers and tests can check that nothing was left behind.
    run_id: str = ""


@dataclass(frozen=True)
class BackendStatus:
    """Whether a backend is usable on this machine, and if not, why not."""

    name: str
    available: bool
    detail: str  # what it uses when available; the reason and the fix when not


class SandboxError(Exception):
    """The sandbox itself could not run (infrastructure, not the candidate's fault)."""


class SandboxUnavailable(SandboxError):
    """The backend is not usable on this machine (missing binary, engine down, image missing)."""


class InputRejected(ValueError):
    """The files or the spec were refused before anything ran (bad path, too large...)."""
