"""Build sandbox runs for an exercise and parse what they report.

Hidden suite, two parties (sandbox/spec.py):
  app     the candidate's files in /workspace, started with the manifest's command,
          env: the manifest's [app] env plus LLM_BASE_URL=http://127.0.0.1:9100/v1;
  tester  /tester/faultkit (the kit), /tester/tests (hidden tests),
          /tester/candidate (a copy of the candidate's files, for frontend checks);
          runs pytest with the faultkit plugin, which serves the fake provider on
          127.0.0.1:9100 and writes $FAULTLINE_REPORT_DIR/report.json.
Visible suite, one party: the candidate's files plus .faultline/faultkit and
.faultline/tests; the plugin starts the app itself, with the manifest's [app] env
(passed as FAULTLINE_APP_ENV) plus LLM_BASE_URL.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .catalog import KIT_DIR, Exercise, Files, read_tree

if TYPE_CHECKING:
    from sandbox.spec import Limits, PartyResult, RunResult, RunSpec

APP_PORT = 8000
PROVIDER_PORT = 9100
LINE_PREFIX = "FAULTLINE-TEST "
COLLECTED_PREFIX = "FAULTLINE-COLLECTED "
VISIBLE_DIR = ".faultline"
LOCAL_BACKEND = "local"
PYTEST_ARGS = ["-q", "-p", "no:cacheprovider", "--color=no", "-o", "console_output_style=classic"]
# Our own ini file pins pytest's rootdir and conftest cut-off, so configuration in the
# candidate's files (pyproject.toml, a top-level conftest.py) never shapes a test run.
PYTEST_INI = b"[pytest]\n"


# The app party of a hidden run with several workers: one instance of the candidate's
# app per worker, each on its own port and talking to its worker's provider. Stopping
# the party stops them all; it exits with the first failing instance's code.
APPS_LAUNCHER = """
import json, os, signal, subprocess, sys
apps = json.loads(sys.argv[1])
procs = [subprocess.Popen(argv, env={**os.environ, **env}) for argv, env in apps]
def stop(signum, frame):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signum)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
codes = [p.wait() for p in procs]
sys.exit(next((c for c in codes if c), 0))
"""


class RunnerError(Exception):
    """The run produced no usable report: an infrastructure problem, not the candidate's."""


@dataclass
class SuiteResult:
    report: dict[str, Any]
    backend: str
    wall_seconds: float
    tester_exit: int | None
    app_output: str  # tail of the app's stdout + stderr (hidden runs)
    tester_output: str  # tail of pytest's own output
    # Where the wall time went, in seconds: "sandbox" (the run, start to stop),
    # "parse" (its report into a SuiteResult); see grading.profile_lines.
    timings: dict[str, float] = field(default_factory=dict)

    def outcomes(self) -> dict[str, str]:
        return {t["id"]: t["outcome"] for t in self.report.get("tests", [])}


def kit_files(prefix: str = "faultkit/") -> Files:
    return {prefix + rel: data for rel, data in read_tree(KIT_DIR).items()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ports(backend: str | None) -> tuple[int, int]:
    # Inside a sandbox the loopback is private, so fixed ports are safe; the local
    # development backend shares the host's network and must not collide.
    if backend == LOCAL_BACKEND:
        return _free_port(), _free_port()
    return APP_PORT, PROVIDER_PORT


def _limits(exercise: Exercise) -> Limits:
    from sandbox.spec import Limits

    return Limits(
        wall_seconds=exercise.wall_seconds,
        cpu_seconds=exercise.wall_seconds,
        memory_mb=512,
        pids=128,
    )


def _candidate(files: Mapping[str, bytes]) -> Files:
    # The candidate cannot smuggle in their own kit or visible tests.
    return {k: v for k, v in files.items() if not k.startswith(VISIBLE_DIR + "/")}


def hidden_spec(
    exercise: Exercise,
    files: Mapping[str, bytes],
    *,
    seed: int | None = None,
    on_line: Callable[[str], None] | None = None,
    ports: tuple[int, int] = (APP_PORT, PROVIDER_PORT),
    workers: int | None = None,
    criterion: str | None = None,
) -> RunSpec:
    """The two-party RunSpec for the hidden suite, with the exercise's workers (or `workers`);
    only `criterion`'s tests when it is given."""
    from sandbox.spec import Party, RunSpec

    workers = exercise.workers if workers is None else workers
    app_port, provider_port = ports
    candidate = _candidate(files)
    tester_files: Files = {
        "pytest.ini": PYTEST_INI,
        **kit_files(),
        **{"tests/" + k: v for k, v in exercise.hidden_test_files().items()},
        **{"candidate/" + k: v for k, v in candidate.items()},
    }
    # Worker i: the app on app_port + i, its provider on provider_port + i.
    pairs = [(app_port + i, provider_port + i) for i in range(max(1, workers))]
    instances = [
        (
            exercise.app.command(a),
            {**exercise.app.env, "LLM_BASE_URL": f"http://127.0.0.1:{p}/v1"},
        )
        for a, p in pairs
    ]
    if len(instances) == 1:
        app = Party(command=instances[0][0], files=candidate, env=instances[0][1])
    else:
        app = Party(
            command=["python3", "-c", APPS_LAUNCHER, json.dumps(instances)],
            files=candidate,
            env={},
        )
    tester_env = {
        "FAULTLINE_APP_URL": f"http://127.0.0.1:{app_port}",
        "FAULTLINE_APP_HEALTH": exercise.app.health,
        "FAULTLINE_APP_START_TIMEOUT": str(exercise.app.start_timeout_seconds),
        "FAULTLINE_PROVIDER_PORT": str(provider_port),
        "FAULTLINE_SEED": str(exercise.seed if seed is None else seed),
        "FAULTLINE_CANDIDATE_DIR": "candidate",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    if criterion is not None:
        tester_env["FAULTLINE_CRITERION"] = criterion
    if len(pairs) > 1:
        tester_env["FAULTLINE_WORKERS"] = json.dumps(
            [[f"http://127.0.0.1:{a}", p] for a, p in pairs]
        )
        if exercise.alone:
            tester_env["FAULTLINE_ALONE"] = json.dumps(list(exercise.alone))
    tester = Party(
        command=[
            "python3",
            "-m",
            "pytest",
            "-c",
            "pytest.ini",
            "-p",
            "faultkit.pytest_plugin",
            *PYTEST_ARGS,
            "tests",
        ],
        files=tester_files,
        env=tester_env,
    )
    return RunSpec(app=app, tester=tester, limits=_limits(exercise), on_line=on_line)


def visible_spec(
    exercise: Exercise,
    files: Mapping[str, bytes],
    *,
    on_line: Callable[[str], None] | None = None,
    ports: tuple[int, int] = (APP_PORT, PROVIDER_PORT),
) -> RunSpec:
    """The single-party RunSpec for the visible tests, in the candidate's workspace."""
    from sandbox.spec import Party, RunSpec

    app_port, provider_port = ports
    all_files: Files = {
        **_candidate(files),
        f"{VISIBLE_DIR}/pytest.ini": PYTEST_INI,
        **kit_files(f"{VISIBLE_DIR}/faultkit/"),
        **{f"{VISIBLE_DIR}/tests/{k}": v for k, v in exercise.visible_test_files().items()},
    }
    party = Party(
        command=[
            "python3",
            "-m",
            "pytest",
            "-p",
            "faultkit.pytest_plugin",
            *PYTEST_ARGS,
            f"{VISIBLE_DIR}/tests",
        ],
        files=all_files,
        env={
            "PYTHONPATH": VISIBLE_DIR,
            "FAULTLINE_APP_COMMAND": json.dumps(exercise.app.command(app_port)),
            "FAULTLINE_APP_ENV": json.dumps(dict(exercise.app.env)),
            "FAULTLINE_APP_URL": f"http://127.0.0.1:{app_port}",
            "FAULTLINE_APP_HEALTH": exercise.app.health,
            "FAULTLINE_APP_START_TIMEOUT": str(exercise.app.start_timeout_seconds),
            "FAULTLINE_PROVIDER_PORT": str(provider_port),
            "FAULTLINE_SEED": str(exercise.seed),
            "FAULTLINE_CANDIDATE_DIR": ".",
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        },
    )
    return RunSpec(app=party, limits=_limits(exercise), on_line=on_line)


def report_from_lines(stdout: str, *, stopped: str = "") -> dict[str, Any] | None:
    """Rebuild a report from the plugin's lines: single-party runs have no report dir, and a
    run stopped early (its time limit, a crash) wrote no report.json.

    With the FAULTLINE-COLLECTED line, every collected test is in the report: one that
    never finished is an error saying `stopped`, and a result line for a test that was
    not collected, or a second one for the same test, is ignored (the first is the
    plugin's own; later ones could only be output the tests printed).
    """
    collected: list[dict[str, Any]] | None = None
    results: dict[str, dict[str, Any]] = {}
    for line in stdout.splitlines():
        try:
            if line.startswith(COLLECTED_PREFIX) and collected is None:
                listed = json.loads(line[len(COLLECTED_PREFIX) :])
                collected = [t for t in listed if isinstance(t, dict)]
            elif line.startswith(LINE_PREFIX):
                test = json.loads(line[len(LINE_PREFIX) :])
                if isinstance(test, dict):
                    results.setdefault(str(test.get("id")), test)
        except ValueError:
            continue
    if collected is None:
        tests = list(results.values())
    else:
        note = f"did not finish: {stopped or 'the test run ended before it'}"
        tests = [
            results.get(str(c.get("id")))
            or {**c, "outcome": "error", "duration": 0.0, "output": note}
            for c in collected
        ]
    if not tests:
        return None
    counts = {
        k: sum(1 for t in tests if t.get("outcome") == k)
        for k in ("passed", "failed", "error", "skipped")
    }
    return {"tests": tests, "summary": {**counts, "total": len(tests)}}


def _execute(spec: RunSpec, backend: str | None) -> RunResult:
    if backend == LOCAL_BACKEND:
        from .local_backend import run_unsafe_local

        return run_unsafe_local(spec)
    import sandbox

    return sandbox.run(spec, backend)


def _tail(text: str, n: int = 3000) -> str:
    return text if len(text) <= n else "..." + text[-n:]


def _result(
    run: RunResult, reporter: PartyResult, started: float, prefer_file: bool
) -> SuiteResult:
    ran = time.monotonic()
    report = run.report if prefer_file else None
    if report is None:
        if reporter.timed_out:
            stopped = f"the test run was stopped at its {reporter.wall_seconds:.0f} s time limit"
        elif reporter.oom_killed:
            stopped = "the test run was killed for using too much memory"
        else:
            stopped = f"the test run ended first (exit {reporter.exit_code})"
        report = report_from_lines(reporter.stdout, stopped=stopped)
    if report is None or not isinstance(report.get("tests"), list) or not report["tests"]:
        why = run.report_error or "no FAULTLINE-TEST lines"
        raise RunnerError(
            f"the test run produced no report ({why}); exit {reporter.exit_code}, "
            f"timed out: {reporter.timed_out}\n{_tail(reporter.stdout + reporter.stderr)}"
        )
    app_output = "" if run.tester is None else _tail(run.app.stdout + run.app.stderr)
    return SuiteResult(
        report=report,
        backend=run.backend,
        wall_seconds=round(time.monotonic() - started, 3),
        tester_exit=reporter.exit_code,
        app_output=app_output,
        tester_output=_tail(reporter.stdout + reporter.stderr),
        timings={
            "sandbox": round(ran - started, 3),
            "parse": round(time.monotonic() - ran, 4),
        },
    )


def run_hidden(
    exercise: Exercise,
    files: Mapping[str, bytes],
    *,
    backend: str | None = None,
    seed: int | None = None,
    on_line: Callable[[str], None] | None = None,
    criterion: str | None = None,
) -> SuiteResult:
    """Run the hidden suite against `files` (only `criterion`'s tests when it is given).

    Raises RunnerError or sandbox.SandboxError when the infrastructure failed.
    """
    started = time.monotonic()
    # The local backend shares the host's ports: one worker on two free ports.
    spec = hidden_spec(
        exercise,
        files,
        seed=seed,
        on_line=on_line,
        ports=_ports(backend),
        workers=1 if backend == LOCAL_BACKEND else None,
        criterion=criterion,
    )
    run = _execute(spec, backend)
    assert run.tester is not None
    return _result(run, run.tester, started, prefer_file=True)


def run_visible(
    exercise: Exercise,
    files: Mapping[str, bytes],
    *,
    backend: str | None = None,
    on_line: Callable[[str], None] | None = None,
) -> SuiteResult:
    """Run the visible tests in the candidate's workspace (single party)."""
    started = time.monotonic()
    run = _execute(visible_spec(exercise, files, on_line=on_line, ports=_ports(backend)), backend)
    return _result(run, run.app, started, prefer_file=False)
