"""Pre-started sandboxes (bwrap and Docker): a run that takes one behaves exactly
like a cold start, gets its own limits, sees nothing of another run, and leaves
nothing, also when the harness that holds them is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import sandbox
from sandbox.backends.bwrap import BwrapBackend
from sandbox.backends.docker_engine import DockerBackend
from sandbox.config import load_config
from sandbox.spec import Limits, Party, RunSpec
from tests.requirements import missing, require_bwrap, require_docker
from tests.sandbox.conftest import SMALL, host_processes_with, owned_leftovers, py

BACKENDS = ["bwrap", "docker"]

REPO = Path(sandbox.__file__).resolve().parent.parent

PROBE = py(
    "import os, resource, socket, sys\n"
    # The uid itself may differ (Docker's app uid is new for every run), not its kind.
    "uid, gid = os.getuid(), os.getgid()\n"
    "print(os.getcwd(), uid >= 1000, uid == gid, os.getgroups() == [gid], socket.gethostname())\n"
    "print(sorted(os.environ.items()))\n"
    "print(resource.getrlimit(resource.RLIMIT_CPU), resource.getrlimit(resource.RLIMIT_CORE))\n"
    "print(open('data/in.txt').read(), sorted(os.listdir('.')), os.listdir('/tmp'))\n"
    "print(sys.stdin.read() == '', file=sys.stderr)\n"
    "sys.exit(3)\n"
)


def _backend(name: str, warm: int) -> Any:
    config = replace(load_config(), warm=warm)
    if name == "bwrap":
        require_bwrap()
        be: Any = BwrapBackend(config)
    else:
        require_docker()
        be = DockerBackend(config)
    status = be.status()
    if not status.available or getattr(be, "launcher", True) is None:
        missing(f"{name} with pre-started sandboxes: {status.detail}")
    return be


def _ready(be: Any, count: int = 1, limits: Limits = SMALL) -> list[str]:
    """Start the pool (a first run, with the limits to come: the Docker pool makes
    its containers with the last run's disk limit) and wait until `count` wait."""
    be.run(RunSpec(app=Party(command=["true"]), limits=limits))
    for _ in range(1000):
        ready: list[str] = be.prestarted()
        if len(ready) >= count:
            return ready
        time.sleep(0.01)
    pytest.fail("no sandbox was pre-started within 10 s")


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("cpu", [3, 45])  # below and above the default CPU limit
def test_a_prestarted_run_is_the_same_as_a_cold_one(name: str, cpu: int) -> None:
    cold, warm = _backend(name, 0), _backend(name, 1)
    spec = RunSpec(
        app=Party(command=PROBE, files={"data/in.txt": b"hello"}, env={"GREETING": "hi there"}),
        limits=replace(SMALL, cpu_seconds=cpu, memory_mb=512, pids=128, disk_mb=100),
    )
    ready = _ready(warm, limits=spec.limits)
    took = warm.run(spec)
    assert took.run_id in ready, "the run did not take the pre-started sandbox"
    reference = cold.run(spec)
    assert (took.app.exit_code, took.app.stdout, took.app.stderr) == (
        reference.app.exit_code,
        reference.app.stdout,
        reference.app.stderr,
    )
    assert took.app.exit_code == 3
    assert "('GREETING', 'hi there')" in took.app.stdout
    assert f"({cpu}, {cpu + 1}) (0, 0)" in took.app.stdout  # the run's CPU limit
    assert warm.leftovers(took.run_id) == []


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize(("command", "code"), [(["no-such-program"], 127), (["/etc/passwd"], 126)])
def test_a_command_that_cannot_run_is_reported_like_a_shell_does(
    name: str, command: list[str], code: int
) -> None:
    warm = _backend(name, 1)
    ready = _ready(warm)
    result = warm.run(RunSpec(app=Party(command=command), limits=SMALL))
    assert result.run_id in ready
    assert result.app.exit_code == code
    assert command[0] in result.app.stderr


@pytest.mark.parametrize("name", BACKENDS)
def test_each_prestarted_sandbox_serves_one_run(name: str) -> None:
    warm = _backend(name, 2)
    ready = _ready(warm, 2)
    first = warm.run(
        RunSpec(
            app=Party(
                command=py(
                    "import os, subprocess\n"
                    "open('/tmp/secret', 'w').write('x'); open('mine', 'w').write('x')\n"
                    "subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
                )
            ),
            limits=SMALL,
        )
    )
    second = warm.run(
        RunSpec(
            app=Party(command=py("import os; print(os.listdir('/tmp'), os.listdir('.'))")),
            limits=SMALL,
        )
    )
    assert first.app.exit_code == 0 and first.run_id != second.run_id
    assert {first.run_id, second.run_id} == set(ready[:2])
    assert second.app.stdout == "[] []\n"
    assert warm.leftovers(first.run_id) == [] and warm.leftovers(second.run_id) == []


@pytest.mark.parametrize("name", BACKENDS)
def test_the_runs_limits_apply_not_the_prestarted_ones(name: str) -> None:
    warm = _backend(name, 1)
    ready = _ready(warm)
    memory = warm.run(
        RunSpec(app=Party(command=py("b = bytearray(200 * 1024 * 1024)")), limits=SMALL)
    )
    assert memory.run_id in ready
    assert memory.app.oom_killed, memory.app
    ready = _ready(warm, limits=replace(SMALL, disk_mb=4))
    disk = warm.run(
        RunSpec(
            app=Party(
                command=py(
                    "try:\n"
                    "    open('big', 'wb').write(b'x' * 8 * 1024 * 1024); print('wrote')\n"
                    "except OSError as e:\n"
                    "    print(e.strerror)\n"
                )
            ),
            limits=replace(SMALL, disk_mb=4),
        )
    )
    assert disk.run_id in ready
    assert disk.app.stdout == "No space left on device\n"
    ready = _ready(warm)
    forks = warm.run(
        RunSpec(
            app=Party(
                command=py(
                    "import subprocess\n"
                    "procs = []\n"
                    "try:\n"
                    "    for _ in range(20): procs.append(subprocess.Popen(['sleep', '5']))\n"
                    "except OSError as e:\n"
                    "    print(len(procs), e.strerror)\n"
                    "for p in procs: p.kill()\n"
                )
            ),
            limits=replace(SMALL, pids=6),
        )
    )
    assert forks.run_id in ready
    started, reason = forks.app.stdout.split(" ", 1)
    assert int(started) <= 6 and reason == "Resource temporarily unavailable\n", forks.app


def _holder(name: str, then: str) -> subprocess.Popen[str]:
    """A harness process that starts its pool, prints the waiting run ids, then `then`."""
    script = (
        "import time, sandbox\n"
        "from sandbox.spec import *\n"
        f"be = sandbox.get_backend({name!r})\n"
        "be.run(RunSpec(app=Party(command=['true'])))\n"
        "for _ in range(1000):\n"
        "    if len(be.prestarted()) == 2: break\n"
        "    time.sleep(0.01)\n"
        "print(' '.join(be.prestarted()), flush=True)\n"
        f"{then}\n"
    )
    env = {"PATH": "/usr/bin:/bin", "FAULTLINE_SANDBOX_WARM": "2"}
    return subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True, env=env
    )


@pytest.mark.parametrize("name", BACKENDS)
def test_waiting_sandboxes_go_away_with_their_process(name: str) -> None:
    _backend(name, 1)
    holder = _holder(name, "pass")
    out, _ = holder.communicate(timeout=60)
    run_ids = out.split()
    assert holder.returncode == 0 and len(run_ids) == 2, out
    be = sandbox.get_backend(name)
    for run_id in run_ids:
        assert be.leftovers(run_id) == []
        assert host_processes_with(run_id) == []


@pytest.mark.parametrize("name", BACKENDS)
def test_waiting_sandboxes_of_a_killed_harness_are_removed(name: str) -> None:
    _backend(name, 1)
    holder = _holder(name, "time.sleep(600)")
    assert holder.stdout is not None
    run_ids = holder.stdout.readline().split()
    assert len(run_ids) == 2
    be = sandbox.get_backend(name)
    assert all(be.leftovers(run_id) for run_id in run_ids), "they were waiting"
    os.kill(holder.pid, signal.SIGKILL)  # no atexit: the reaper must do it
    holder.wait()
    for _ in range(300):
        if not owned_leftovers(name, holder.pid):
            break
        time.sleep(0.1)
    assert owned_leftovers(name, holder.pid) == []
    assert all(be.leftovers(run_id) == [] for run_id in run_ids)
