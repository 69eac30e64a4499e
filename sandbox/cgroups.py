"""Per-party control groups: a pids limit (fork and thread bombs), a memory limit
with no swap (memory bombs, reported as oom_killed), a CPU share (a party that
spins many processes still gets no more than its cores, so the other runs on the
machine keep theirs), and a handle to kill every process of the party, however
it was forked.

cgroup v1 (pids, memory and cpu hierarchies) and the unified v2 hierarchy are both
supported; the cpu controller is optional (without it a party's share is unbounded,
and doctor says so). Group names start with the harness pid, so a later harness can tell a
stale group (its harness is dead) from a live one of a concurrent harness.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import signal
import time
from pathlib import Path

from sandbox.spec import SandboxError, SandboxUnavailable

CGROUP_ROOT = Path("/sys/fs/cgroup")
GROUP = "faultline"


@functools.cache
def cgroup_version() -> int | None:
    """1 or 2, or None without pids+memory controllers. Mounts do not change under us."""
    if (CGROUP_ROOT / "pids" / "cgroup.procs").exists() and (
        CGROUP_ROOT / "memory" / "cgroup.procs"
    ).exists():
        return 1
    controllers = CGROUP_ROOT / "cgroup.controllers"
    if controllers.exists():
        available = controllers.read_text().split()
        if "pids" in available and "memory" in available:
            return 2
    return None


@functools.cache
def cpu_controller() -> bool:
    """Whether parties get a CPU share here (the cpu controller is there to use)."""
    version = cgroup_version()
    if version == 1:
        return (CGROUP_ROOT / "cpu" / "cpu.cfs_quota_us").exists()
    if version == 2:
        return "cpu" in (CGROUP_ROOT / "cgroup.controllers").read_text().split()
    return False


def _parents(version: int) -> list[Path]:
    if version == 1:
        cpu = [CGROUP_ROOT / "cpu" / GROUP] if cpu_controller() else []
        return [CGROUP_ROOT / "pids" / GROUP, CGROUP_ROOT / "memory" / GROUP, *cpu]
    return [CGROUP_ROOT / GROUP]


CPU_PERIOD_US = 100_000


def _write(path: Path, value: str) -> None:
    with open(path, "w") as fh:
        fh.write(value)


_parents_ready: set[int] = set()


def _ensure_parents(version: int) -> None:
    if version in _parents_ready:
        return
    for parent in _parents(version):
        parent.mkdir(mode=0o755, exist_ok=True)
    if version == 2:
        # Controllers must be delegated down the tree before a leaf can use them.
        wanted = "+pids +memory" + (" +cpu" if cpu_controller() else "")
        with contextlib.suppress(OSError):
            _write(CGROUP_ROOT / "cgroup.subtree_control", wanted)
        _write(CGROUP_ROOT / GROUP / "cgroup.subtree_control", wanted)
    _parents_ready.add(version)


def _procs(directory: Path) -> list[int]:
    try:
        return [int(p) for p in (directory / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def _kill_dir(directory: Path, deadline: float) -> None:
    kill_file = directory / "cgroup.kill"
    if kill_file.exists():
        with contextlib.suppress(OSError):
            _write(kill_file, "1")
    # v1 has no cgroup.kill: keep killing until the group is empty. A fork bomb
    # cannot outrun this for long, the pids limit caps how many it can make.
    # Usually only exiting processes are left: poll fast first, then back off.
    pause = 0.0001
    while time.monotonic() < deadline:
        pids = _procs(directory)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(pause)
        pause = min(pause * 2, 0.005)


def _rmdir(directory: Path, deadline: float) -> None:
    while True:
        try:
            directory.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                raise SandboxError(f"cannot remove cgroup {directory}: {exc}") from exc
            _kill_dir(directory, deadline)
            time.sleep(0.0002)


class PartyCgroup:
    """The cgroup(s) of one party. Create, put processes in, read, kill, remove."""

    def __init__(self, name: str, *, pids: int, memory_bytes: int, cpus: float) -> None:
        version = cgroup_version()
        if version is None:
            raise SandboxUnavailable("no pids+memory cgroup controllers on this machine")
        self.version = version
        self.name = name
        self.limits: tuple[int, int, float] | None = None  # (pids, memory bytes, cpus) as set
        _ensure_parents(version)
        self.dirs = [parent / name for parent in _parents(version)]
        try:
            for d in self.dirs:
                try:
                    d.mkdir(mode=0o755)
                except FileNotFoundError:  # the parent was removed since: make it again
                    _parents_ready.discard(version)
                    _ensure_parents(version)
                    d.mkdir(mode=0o755)
            self.set_limits(pids=pids, memory_bytes=memory_bytes, cpus=cpus)
        except OSError as exc:
            self.remove()
            raise SandboxError(f"cannot set up cgroup {name}: {exc}") from exc

    def set_limits(self, *, pids: int, memory_bytes: int, cpus: float) -> None:
        """Set (or change, for a pre-started party) the pids, memory and CPU limits."""
        if self.limits == (pids, memory_bytes, cpus):
            return
        self.limits = None  # unknown until every write below went through
        quota = max(1000, int(cpus * CPU_PERIOD_US))  # the kernel's minimum is 1 ms
        if self.version == 1:
            pids_dir, mem_dir = self.dirs[:2]
            if cpu_controller():
                _write(self.dirs[2] / "cpu.cfs_period_us", str(CPU_PERIOD_US))
                _write(self.dirs[2] / "cpu.cfs_quota_us", str(quota))
            _write(pids_dir / "pids.max", str(pids))
            limit = mem_dir / "memory.limit_in_bytes"
            swap = mem_dir / "memory.memsw.limit_in_bytes"
            # v1 insists on limit <= memsw limit at every step.
            order = [limit, swap]
            if swap.exists():
                if memory_bytes > int(limit.read_text()):
                    order.reverse()
            else:
                order = [limit]
            for path in order:
                _write(path, str(memory_bytes))
        else:
            (d,) = self.dirs
            _write(d / "pids.max", str(pids))
            _write(d / "memory.max", str(memory_bytes))
            swap2 = d / "memory.swap.max"
            if swap2.exists():
                _write(swap2, "0")
            if cpu_controller():
                _write(d / "cpu.max", f"{quota} {CPU_PERIOD_US}")
        self.limits = (pids, memory_bytes, cpus)

    def set_cpu_weight(self, shares: int) -> None:
        """A CPU weight relative to other groups (v1 cpu.shares; v2 cpu.weight, scaled):
        it only matters when the CPU is contended. No cpu controller: nothing to set."""
        if not cpu_controller():
            return
        if self.version == 1:
            _write(self.dirs[2] / "cpu.shares", str(shares))
        else:
            _write(self.dirs[0] / "cpu.weight", str(max(1, shares * 100 // 1024)))

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def oom_killed(self) -> bool:
        mem_dir = self.dirs[1 if self.version == 1 else 0]
        source = mem_dir / ("memory.oom_control" if self.version == 1 else "memory.events")
        try:
            counters = dict(
                line.split(" ", 1) for line in source.read_text().splitlines() if " " in line
            )
            if "oom_kill" in counters:
                return int(counters["oom_kill"]) > 0
            # Kernels before 4.13 have no oom_kill counter: a hit limit is the best hint.
            if self.version == 1:
                return int((mem_dir / "memory.failcnt").read_text()) > 0
        except (OSError, ValueError):
            pass
        return False

    def alive(self) -> bool:
        return any(_procs(d) for d in self.dirs)

    def kill(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        for d in self.dirs:
            _kill_dir(d, deadline)

    def remove(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        for d in self.dirs:
            _rmdir(d, deadline)  # kills what is left when the group is still busy


def owner_alive(name: str, dead_owner: int | None = None) -> bool:
    """Whether the harness whose pid starts `name` still runs (`dead_owner` is known gone:
    it may still be a zombie, which signal 0 would count as alive)."""
    head = name.split("-", 1)[0]
    if not head.isdigit() or int(head) == dead_owner:
        return False
    try:
        os.kill(int(head), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(dead_owner: int | None = None) -> int:
    """Kill and remove faultline cgroups whose harness process is gone. Returns how many."""
    version = cgroup_version()
    if version is None:
        return 0
    removed = 0
    deadline = time.monotonic() + 10
    for parent in _parents(version):
        if not parent.is_dir():
            continue
        for child in parent.iterdir():
            if child.is_dir() and not owner_alive(child.name, dead_owner):
                with contextlib.suppress(SandboxError):
                    _kill_dir(child, deadline)
                    _rmdir(child, deadline)
                    removed += 1
    return removed


def list_groups(run_id: str) -> list[str]:
    """Every cgroup directory of `run_id` that still exists (for leak checks)."""
    version = cgroup_version()
    if version is None:
        return []
    found = []
    for parent in _parents(version):
        if parent.is_dir():
            found += [str(c) for c in parent.iterdir() if run_id in c.name]
    return found
