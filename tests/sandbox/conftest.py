"""The sandbox contract suite runs against every backend: one fixture, two params."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

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


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def start_caller(argv: Sequence[str], marker: str, **popen: Any) -> subprocess.Popen[bytes]:
    """Start a harness process (`argv`) whose sandboxed `python3 ... marker` is running."""
    caller = subprocess.Popen(argv, cwd=Path(sandbox.__file__).parent.parent, **popen)
    for _ in range(600):
        # The caller's own command line holds the marker too: wait for the program.
        if any(cmdline(pid)[:1] == ["python3"] for pid in host_processes_with(marker)):
            return caller
        time.sleep(0.05)
    caller.kill()
    caller.wait()
    raise AssertionError("the sandboxed program never started")


def owned_leftovers(backend: str, owner_pid: int) -> list[str]:
    """Host resources (cgroups, scratch mounts, containers) of harness process `owner_pid`."""
    if backend == "bwrap":
        from sandbox.cgroups import CGROUP_ROOT

        roots = [*CGROUP_ROOT.glob("*/faultline"), CGROUP_ROOT / "faultline"]
        roots.append(sandbox.get_backend("bwrap").config.scratch_dir)  # type: ignore[attr-defined]
        return [
            str(p)
            for r in roots
            if r.is_dir()
            for p in r.iterdir()
            if p.name.startswith(f"{owner_pid}-")
        ]
    import docker

    client = docker.from_env()
    owner = f"{socket.gethostname()}:{owner_pid}"
    # The low-level list: the high-level one inspects each container it lists, which
    # fails for one the reaper removes meanwhile.
    found = client.api.containers(all=True, filters={"label": f"faultline.owner={owner}"})
    return [str(c["Id"]) for c in found]


def left_behind(backend: str, marker: str, owner_pid: int, *, sweep: bool) -> list[str]:
    """What is still left of a killed caller's run after up to a minute (empty: all gone)."""
    for _ in range(600):
        if sweep:
            sandbox.get_backend(backend).sweep()
        left = [f"process {pid}" for pid in host_processes_with(marker)]
        left += owned_leftovers(backend, owner_pid)
        if not left:
            return []
        time.sleep(0.1)
    return left
