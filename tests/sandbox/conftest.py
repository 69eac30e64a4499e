"""The sandbox contract suite runs against every backend: one fixture, two params."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import sandbox
from sandbox.spec import Limits, Party, RunResult, RunSpec
from tests.requirements import missing, require_bwrap, require_docker

# Small limits keep the hostile cases quick; each test widens what it needs.
SMALL = Limits(
    wall_seconds=10,
    cpu_seconds=10,
    memory_mb=64,
    pids=32,
    disk_mb=16,
    output_bytes=64 * 1024,
)


@pytest.fixture(params=["bwrap", "bwrap-cold", "docker"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """A backend name. bwrap runs its single-party sandboxes pre-started (after the
    first); "bwrap-cold" is the same backend with nothing pre-started."""
    name: str = request.param.removesuffix("-cold")
    if name == "bwrap":
        require_bwrap()
    else:
        require_docker()
    be = sandbox.get_backend(name)
    status = be.status()
    if not status.available:
        missing(f"sandbox backend {name}: {status.detail}")
    if request.param == "bwrap-cold":
        pool = be._pool  # type: ignore[attr-defined]
        size, pool.size = pool.size, 0
        try:
            yield name
        finally:
            pool.size = size
    else:
        yield name


def py(code: str) -> list[str]:
    return ["python3", "-c", code]


def contained(backend: str, spec: RunSpec) -> RunResult:
    """Run `spec`, then check that nothing of it is left and that a normal run works."""
    result = sandbox.run(spec, backend)
    assert result.backend == backend
    assert sandbox.get_backend(backend).leftovers(result.run_id) == []
    after = sandbox.run(RunSpec(app=Party(command=py("print(6 * 7)")), limits=SMALL), backend)
    assert (after.app.exit_code, after.app.stdout) == (0, "42\n")
    assert sandbox.get_backend(backend).leftovers(after.run_id) == []
    return result


def host_processes_with(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    if marker.encode() in fh.read():
                        found.append(int(pid))
            except OSError:
                continue
    return found
