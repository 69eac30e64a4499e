"""The exercise suites' pytest plugin (faultkit.pytest_plugin) on its own, in a subprocess."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"

SUITE = """
def test_needs_the_app(app):
    app.get("/healthz")


def test_checks_the_frontend_only():
    pass
"""


def test_an_app_that_takes_the_provider_port_fails_the_tests_that_need_it(tmp_path: Path) -> None:
    # In a grading run the app starts first on the shared loopback; here this test
    # plays the app and holds the provider's port.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        (tmp_path / "test_suite.py").write_text(SUITE)
        env = {
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(EXERCISES),
            "FAULTLINE_PROVIDER_PORT": str(port),
            "FAULTLINE_REPORT_DIR": str(tmp_path),
            "FAULTLINE_APP_START_TIMEOUT": "1",
        }
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "-p", "faultkit.pytest_plugin", "test_suite.py"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert "INTERNALERROR" not in proc.stdout + proc.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    tests = {t["id"]: t for t in report["tests"]}
    needs_app = tests["test_suite.py::test_needs_the_app"]
    assert needs_app["outcome"] == "error"
    assert f"could not listen on 127.0.0.1:{port}" in needs_app["output"]
    assert "the app took the port reserved for the provider" in needs_app["output"]
    assert tests["test_suite.py::test_checks_the_frontend_only"]["outcome"] == "passed"


def test_a_report_rebuilt_from_lines_holds_every_collected_test_and_nothing_else() -> None:
    from exercises.runner import report_from_lines

    def line(prefix: str, data: object) -> str:
        return f"FAULTLINE-{prefix} {json.dumps(data)}"

    collected = [
        {"id": f"test_a.py::test_{n}", "title": n, "criterion": "correctness"}
        for n in ("one", "two", "three")
    ]
    first = {**collected[0], "outcome": "failed", "duration": 1.0, "output": "assert 1 == 2"}
    stdout = "\n".join(
        [
            line("COLLECTED", collected),
            line("TEST", first),
            # Output a test printed (say, a response of the app's) cannot add or change results.
            line("TEST", {**first, "outcome": "passed"}),
            line("TEST", {"id": "test_forged.py::test_x", "outcome": "passed"}),
            "killed",
        ]
    )
    report = report_from_lines(stdout, stopped="the test run was stopped at its 8 s time limit")
    assert report is not None
    assert [(t["id"], t["outcome"]) for t in report["tests"]] == [
        ("test_a.py::test_one", "failed"),
        ("test_a.py::test_two", "error"),
        ("test_a.py::test_three", "error"),
    ]
    assert report["tests"][1]["output"] == (
        "did not finish: the test run was stopped at its 8 s time limit"
    )
    assert report["summary"] == {"passed": 0, "failed": 1, "error": 2, "skipped": 0, "total": 3}


DECLARING_SUITE = """
import pytest

pytestmark = [pytest.mark.criterion("concurrency", fails_to=1), pytest.mark.spec("many.1")]


@pytest.mark.criterion("concurrency", fails_to=0)
@pytest.mark.critical("Cancels other users' answers")
@pytest.mark.spec("many.2")
def test_scoped():
    assert False


def test_module_cap():
    pass
"""


def test_the_report_carries_what_each_test_declares_its_failure_means(tmp_path: Path) -> None:
    (tmp_path / "test_declared.py").write_text(DECLARING_SUITE)
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(EXERCISES),
        "FAULTLINE_PROVIDER_PORT": "0",
        "FAULTLINE_REPORT_DIR": str(tmp_path),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-p", "faultkit.pytest_plugin", "test_declared.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    report = json.loads((tmp_path / "report.json").read_text())
    tests = {t["id"].split("::")[1]: t for t in report["tests"]}
    scoped, module = tests["test_scoped"], tests["test_module_cap"]
    assert (scoped["outcome"], scoped["fails_to"], scoped["critical"]) == (
        "failed",
        0,
        "Cancels other users' answers",
    )
    assert scoped["spec"] == ["many.2", "many.1"]
    assert (module["fails_to"], module["critical"], module["spec"]) == (1, None, ["many.1"])
    # The collected line says the same before any test runs (a run cut short keeps it).
    collected = next(
        json.loads(line.split(" ", 1)[1])
        for line in proc.stdout.splitlines()
        if line.startswith("FAULTLINE-COLLECTED ")
    )
    assert {c["id"].split("::")[1]: c["fails_to"] for c in collected} == {
        "test_scoped": 0,
        "test_module_cap": 1,
    }


WORKER_SUITE = """
import json, os, time
import pytest
from faultkit import pytest_plugin as plugin

SETUPS = []


@pytest.fixture(scope="module")
def per_module():
    SETUPS.append(1)
    return len(SETUPS)


@pytest.mark.parametrize("n", range(6))
def test_one_of_many(n, app, provider, per_module):
    assert app.get("/").status_code == 200
    time.sleep(0.1)  # long enough that one worker cannot take every test
    record = {"pid": os.getpid(), "app": plugin._state.app_url,
              "provider": plugin._state.running.port, "setups": per_module}
    (plugin.Path(os.environ["OUT"]) / str(n)).write_text(json.dumps(record))


def test_that_fails(provider):
    assert False, "the expected failure"
"""


def _run_with_two_workers(
    tmp_path: Path, suite: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[list[object]]]:
    """Run `suite` with two workers, each against a stand-in app (a static file server)."""
    apps, ports = [], []
    try:
        for _ in range(2):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                ports.append(s.getsockname()[1])
            apps.append(
                subprocess.Popen(
                    [sys.executable, "-m", "http.server", "-b", "127.0.0.1", str(ports[-1])],
                    cwd=tmp_path,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        providers = []
        for _ in range(2):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                providers.append(s.getsockname()[1])
        out = tmp_path / "out"
        out.mkdir()
        (tmp_path / "test_suite.py").write_text(suite)
        workers: list[list[object]] = [
            [f"http://127.0.0.1:{a}", p] for a, p in zip(ports, providers, strict=True)
        ]
        run_env = {
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(EXERCISES),
            "FAULTLINE_WORKERS": json.dumps(workers),
            "FAULTLINE_APP_HEALTH": "/",
            "FAULTLINE_REPORT_DIR": str(tmp_path),
            "OUT": str(out),
            **(env or {}),
        }
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "-p", "faultkit.pytest_plugin", "test_suite.py"],
            cwd=tmp_path, env=run_env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        for app in apps:
            app.terminate()
            app.wait()
    assert "INTERNALERROR" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc, workers


def test_workers_split_the_suite_each_against_its_own_app_and_provider(tmp_path: Path) -> None:
    # Each worker must talk only to its own app and provider.
    proc, workers = _run_with_two_workers(tmp_path, WORKER_SUITE)
    out = tmp_path / "out"
    report = json.loads((tmp_path / "report.json").read_text())
    outcomes = {t["id"]: t["outcome"] for t in report["tests"]}
    assert outcomes == {
        **{f"test_suite.py::test_one_of_many[{n}]": "passed" for n in range(6)},
        "test_suite.py::test_that_fails": "failed",
    }
    assert report["summary"]["workers"] == 2
    # Each test once on the live lines too, whichever worker ran it.
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("FAULTLINE-TEST ")]
    assert sorted(json.loads(ln.split(" ", 1)[1])["id"] for ln in lines) == sorted(outcomes)
    records = [json.loads((out / str(n)).read_text()) for n in range(6)]
    by_pid: dict[int, set[tuple[str, int]]] = {}
    for r in records:
        by_pid.setdefault(r["pid"], set()).add((r["app"], r["provider"]))
        # The module fixture is set up once per worker, not once per test.
        assert r["setups"] == 1
    assert len(by_pid) == 2, "both workers ran tests"
    pairs = [pair for used in by_pid.values() for pair in used]
    assert sorted(pairs) == sorted((str(url), int(str(port))) for url, port in workers), (
        "each worker used exactly its own app and provider"
    )


ALONE_SUITE = """
import json, os, time
import pytest
from faultkit import pytest_plugin as plugin


def record(name, started):
    window = {"pid": os.getpid(), "started": started, "ended": time.monotonic()}
    (plugin.Path(os.environ["OUT"]) / name).write_text(json.dumps(window))


def test_heavy(app, provider):
    started = time.monotonic()
    time.sleep(0.3)
    record("heavy", started)


@pytest.mark.parametrize("n", range(6))
def test_light(n, app, provider):
    started = time.monotonic()
    time.sleep(0.1)
    record(f"light{n}", started)
"""


def test_a_test_that_runs_alone_has_no_other_test_beside_it(tmp_path: Path) -> None:
    # Collected first, yet it runs after every other test has ended.
    _run_with_two_workers(
        tmp_path, ALONE_SUITE, {"FAULTLINE_ALONE": json.dumps(["test_suite.py::test_heavy"])}
    )
    report = json.loads((tmp_path / "report.json").read_text())
    assert {t["outcome"] for t in report["tests"]} == {"passed"}, report
    assert len(report["tests"]) == 7
    out = tmp_path / "out"
    heavy = json.loads((out / "heavy").read_text())
    lights = [json.loads((out / f"light{n}").read_text()) for n in range(6)]
    assert len({w["pid"] for w in lights}) == 2, "both workers ran the other tests"
    assert all(w["ended"] <= heavy["started"] for w in lights), (heavy, lights)
