"""`python -m sandbox doctor` and `python -m sandbox exec`, as an operator runs them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import sandbox
from tests.requirements import require_bwrap, require_docker
from tests.sandbox.conftest import left_behind, start_caller

REPO = Path(sandbox.__file__).resolve().parent.parent


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_exec_prints_one_json_object_and_exits_zero(backend: str, tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(
        "import sys; print('hi from', open('data.txt').read()); sys.exit(4)"
    )
    (tmp_path / "data.txt").write_text("the workspace")
    proc = cli(
        "exec", "--backend", backend, "--timeout", "10", "--memory", "128", "--pids", "32",
        "--output-limit", "16", "--workspace", str(tmp_path), "--", "python3", "main.py",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["exit_code"] == 4 and out["stdout"] == "hi from the workspace\n"
    for key in ("timed_out", "oom_killed", "stderr", "output_truncated", "wall_seconds"):
        assert key in out
    assert (out["timed_out"], out["oom_killed"], out["output_truncated"]) == (False, False, False)
    # Once the command has exited, nothing of its run is left on the host.
    assert sandbox.get_backend(backend).leftovers(out["run_id"]) == []


def test_exec_passes_only_the_environment_it_is_given(backend: str) -> None:
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    proc = cli("exec", "--backend", backend, "--env", "MODEL=fake-1", "--env", "EMPTY=",
               "--env", "EQ=a=b", "--", "python3", "-c", code,
               env={"FAULTLINE_HOST_SECRET": "s3cret"})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    env = json.loads(json.loads(proc.stdout)["stdout"])
    assert (env["MODEL"], env["EMPTY"], env["EQ"]) == ("fake-1", "", "a=b")
    assert "FAULTLINE_HOST_SECRET" not in env
    bad = cli("exec", "--backend", backend, "--env", "NOVALUE", "--", "true")
    assert bad.returncode != 0 and bad.stdout == "" and "NAME=VALUE" in bad.stderr


def test_exec_reports_a_timeout_and_truncation(backend: str) -> None:
    code = "import time; print('y' * 50000, flush=True); time.sleep(100)"
    proc = cli(
        "exec",
        "--backend",
        backend,
        "--timeout",
        "1",
        "--output-limit",
        "1",
        "--",
        "python3",
        "-c",
        code,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["timed_out"] and out["output_truncated"] and len(out["stdout"]) == 1024


def test_exec_takes_disk_and_cpu_limits(backend: str) -> None:
    code = (
        "import os; st = os.statvfs('.'); print(st.f_blocks * st.f_frsize // 2**20, flush=True)\n"
        "while True: pass"
    )
    proc = cli("exec", "--backend", backend, "--timeout", "20", "--disk", "5", "--cpu", "1",
               "--", "python3", "-c", code)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["stdout"] == "5\n"  # MB of writable space
    assert not out["timed_out"] and out["exit_code"] in (128 + signal.SIGXCPU, 128 + signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_exec_killed_mid_run_leaves_nothing_behind(backend: str, sig: signal.Signals) -> None:
    marker = f"orphan-{uuid.uuid4()}"
    argv = [sys.executable, "-m", "sandbox", "exec", "--backend", backend, "--timeout", "300"]
    caller = start_caller([*argv, "--", "python3", "-c", "import time; time.sleep(300)", marker],
                          marker, stderr=subprocess.PIPE)  # fmt: skip
    caller.send_signal(sig)
    _, err = caller.communicate(timeout=60)
    assert left_behind(backend, marker, caller.pid, sweep=False) == []
    if sig == signal.SIGKILL:  # nothing ran in the caller: its reaper cleaned up
        assert caller.returncode == -signal.SIGKILL
    else:  # stopped the normal way, in one line
        assert caller.returncode == 128 + sig
        assert err.decode().splitlines() == [
            f"interrupted ({sig.name}): the run was stopped and removed"
        ]


def test_exec_refuses_a_workspace_with_a_symlink(backend: str, tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to("/etc/passwd")
    proc = cli("exec", "--backend", backend, "--workspace", str(tmp_path), "--", "cat", "link")
    assert proc.returncode != 0 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "symlink" in proc.stderr


def test_exec_without_a_command_or_with_bad_arguments_fails_in_one_line() -> None:
    for args in (["exec", "--backend", "bwrap"], ["exec", "--timeout", "soon", "--", "true"]):
        proc = cli(*args)
        assert proc.returncode != 0 and proc.stdout == ""
        assert proc.stderr.count("\n") == 1, proc.stderr


def test_exec_names_the_command_that_prepares_a_missing_runtime() -> None:
    proc = cli(
        "exec",
        "--backend",
        "bwrap",
        "--",
        "true",
        env={"FAULTLINE_SANDBOX_RUNTIME": "/nonexistent"},
    )
    assert proc.returncode != 0 and proc.stderr.count("\n") == 1
    assert "python -m sandbox prepare-runtime" in proc.stderr


def test_exec_names_the_command_that_builds_a_missing_image() -> None:
    require_docker()
    proc = cli(
        "exec",
        "--backend",
        "docker",
        "--",
        "true",
        env={"FAULTLINE_SANDBOX_IMAGE": "faultline-missing:none"},
    )
    assert proc.returncode != 0 and proc.stderr.count("\n") == 1
    assert "scripts/build_sandbox_image.sh" in proc.stderr


def test_doctor_lists_every_backend(backend: str) -> None:
    proc = cli("doctor")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.startswith(f"ok   {backend}") for line in lines), proc.stdout
    assert sorted(line.split()[1].rstrip(":") for line in lines) == ["bwrap", "docker"]
    doc = json.loads(cli("doctor", "--json").stdout)
    assert {entry["name"] for entry in doc} == {"bwrap", "docker"}
    assert all(set(entry) == {"name", "available", "detail"} for entry in doc)


def test_doctor_says_why_a_backend_is_unusable() -> None:
    proc = cli("doctor", "--json", env={"FAULTLINE_SANDBOX_RUNTIME": "/nonexistent"})
    bwrap = next(entry for entry in json.loads(proc.stdout) if entry["name"] == "bwrap")
    assert bwrap["available"] is False and "prepare-runtime" in bwrap["detail"]


def test_doctor_require_stops_on_the_backend_that_cannot_run(backend: str) -> None:
    # What `make run` checks before it seeds or serves anything.
    assert cli("doctor", "--require", backend).returncode == 0
    proc = cli("doctor", "--require", "bwrap", env={"FAULTLINE_SANDBOX_RUNTIME": "/nonexistent"})
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "the bwrap sandbox cannot run here" in proc.stderr
    assert "prepare-runtime" in proc.stderr


def test_doctor_require_runs_a_trial_and_stops_where_a_run_cannot_mount() -> None:
    # An unprivileged container: root, bwrap, cgroups and the runtime all look fine, yet
    # the kernel refuses every mount. Without CAP_SYS_ADMIN this process is that machine.
    require_bwrap()
    setpriv = shutil.which("setpriv")  # util-linux: on every Debian and Ubuntu
    assert setpriv, "setpriv (util-linux) is not installed"
    assert "a trial run started" in cli("doctor", "--require", "bwrap").stdout
    drop = ["--bounding-set", "-sys_admin", "--inh-caps", "-sys_admin"]
    proc = subprocess.run(
        [setpriv, *drop, "--", sys.executable, "-m", "sandbox", "doctor", "--require", "bwrap"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok   bwrap")  # what the static checks alone said
    assert proc.stderr.count("\n") == 1 and "the bwrap sandbox cannot run here" in proc.stderr
    assert "Operation not permitted" in proc.stderr


@pytest.mark.parametrize("variable", ["FAULTLINE_SANDBOX_DOCKER_RUNTIME", "SANDBOX_DOCKER_RUNTIME"])
def test_a_docker_runtime_the_engine_lacks_is_named_before_anything_runs(variable: str) -> None:
    # SANDBOX_DOCKER_RUNTIME is what an operator sets for the platform (README).
    require_docker()
    env = {variable: "runsc-not-installed"}
    doc = json.loads(cli("doctor", "--json", env=env).stdout)
    docker_entry = next(entry for entry in doc if entry["name"] == "docker")
    assert docker_entry["available"] is False
    assert "'runsc-not-installed'" in docker_entry["detail"] and "runc" in docker_entry["detail"]
    proc = cli("exec", "--backend", "docker", "--", "true", env=env)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "is not registered with the engine" in proc.stderr
