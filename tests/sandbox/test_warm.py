"""Pre-started bwrap sandboxes: a run that takes one behaves exactly like a cold
start, gets its own limits, sees nothing of another run, and leaves nothing."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

import sandbox
from sandbox.backends.bwrap import BwrapBackend
from sandbox.config import load_config
from sandbox.spec import Party, RunSpec
from tests.requirements import missing, require_bwrap
from tests.sandbox.conftest import SMALL, host_processes_with, py

REPO = Path(sandbox.__file__).resolve().parent.parent

PROBE = py(
    "import os, resource, socket, sys\n"
    "print(os.getcwd(), os.getuid(), os.getgid(), os.getgroups(), socket.gethostname())\n"
    "print(sorted(os.environ.items()))\n"
    "print(resource.getrlimit(resource.RLIMIT_CPU), resource.getrlimit(resource.RLIMIT_CORE))\n"
    "print(open('data/in.txt').read(), sorted(os.listdir('.')), os.listdir('/tmp'))\n"
    "print(sys.stdin.read() == '', file=sys.stderr)\n"
    "sys.exit(3)\n"
)


def _backend(warm: int) -> BwrapBackend:
    require_bwrap()
    be = BwrapBackend(replace(load_config(), bwrap_warm=warm))
    status = be.status()
    if not status.available or be.launcher is None:
        missing(f"bwrap with faultline-launch: {status.detail}")
    return be


def _ready(be: BwrapBackend, count: int = 1) -> list[str]:
    """Start the pool (a first, cold run) and wait until `count` sandboxes wait."""
    be.run(RunSpec(app=Party(command=["true"]), limits=SMALL))
    for _ in range(500):
        ready: list[str] = be.prestarted()
        if len(ready) >= count:
            return ready
        time.sleep(0.01)
    pytest.fail("no sandbox was pre-started within 5 s")


@pytest.mark.parametrize("cpu", [3, 45])  # below and above the default CPU limit
def test_a_prestarted_run_is_the_same_as_a_cold_one(cpu: int) -> None:
    cold, warm = _backend(0), _backend(1)
    spec = RunSpec(
        app=Party(command=PROBE, files={"data/in.txt": b"hello"}, env={"GREETING": "hi there"}),
        limits=replace(SMALL, cpu_seconds=cpu, memory_mb=512, pids=128, disk_mb=100),
    )
    ready = _ready(warm)
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


@pytest.mark.parametrize(("command", "code"), [(["no-such-program"], 127), (["/etc/passwd"], 126)])
def test_a_command_that_cannot_run_is_reported_like_a_shell_does(
    command: list[str], code: int
) -> None:
    warm = _backend(1)
    ready = _ready(warm)
    result = warm.run(RunSpec(app=Party(command=command), limits=SMALL))
    assert result.run_id in ready
    assert result.app.exit_code == code
    assert command[0] in result.app.stderr


def test_each_prestarted_sandbox_serves_one_run() -> None:
    warm = _backend(2)
    _ready(warm, 2)
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
    assert second.app.stdout == "[] []\n"
    assert warm.leftovers(first.run_id) == [] and warm.leftovers(second.run_id) == []


def test_the_runs_limits_apply_not_the_prestarted_ones() -> None:
    warm = _backend(1)
    _ready(warm)
    memory = warm.run(
        RunSpec(app=Party(command=py("b = bytearray(200 * 1024 * 1024)")), limits=SMALL)
    )
    assert memory.app.oom_killed, memory.app
    _ready(warm)
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
    assert disk.app.stdout == "No space left on device\n"
    _ready(warm)
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
    started, reason = forks.app.stdout.split(" ", 1)
    assert int(started) <= 6 and reason == "Resource temporarily unavailable\n", forks.app


def test_waiting_sandboxes_go_away_with_their_process() -> None:
    _backend(1)
    script = (
        "import time, dataclasses, sandbox\n"
        "from sandbox.spec import *\n"
        "be = sandbox.get_backend('bwrap')\n"
        "be.run(RunSpec(app=Party(command=['true'])))\n"
        "for _ in range(500):\n"
        "    if be.prestarted(): break\n"
        "    time.sleep(0.01)\n"
        "print(' '.join(be.prestarted()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "FAULTLINE_SANDBOX_WARM": "2"},
        check=True,
    )
    run_ids = done.stdout.split()
    assert run_ids, done.stderr
    be = sandbox.get_backend("bwrap")
    for run_id in run_ids:
        assert be.leftovers(run_id) == []
        assert host_processes_with(run_id) == []
