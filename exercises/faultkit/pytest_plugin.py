"""pytest plugin for exercise test suites (hidden and visible).

Loaded with `-p faultkit.pytest_plugin`. It starts the fake provider in-process,
waits for the candidate's app (or starts it, in a single-party visible run), gives
tests fixtures, and reports every finished test twice: as a `FAULTLINE-TEST {json}`
line on stdout (streamed live by the platform) and in `$FAULTLINE_REPORT_DIR/report.json`.
Before any test runs, one `FAULTLINE-COLLECTED [json]` line lists them all.

Environment (all optional):
  FAULTLINE_APP_URL            where the app listens (default http://127.0.0.1:8000)
  FAULTLINE_APP_HEALTH         path polled until the app answers (default /healthz)
  FAULTLINE_APP_START_TIMEOUT  seconds to wait for it (default 20)
  FAULTLINE_APP_COMMAND        JSON list: start the app ourselves (single-party runs)
  FAULTLINE_APP_ENV            JSON object: extra env of the app we start ([app] env)
  FAULTLINE_APP_DIR            its working directory (default .)
  FAULTLINE_PROVIDER_PORT      port of the fake provider (default 9100; 0 picks one)
  FAULTLINE_SEED               base seed (default 0); each test gets seed ^ crc32(test id)
  FAULTLINE_CANDIDATE_DIR      the candidate's files, for frontend checks (default .)
  FAULTLINE_REPORT_DIR         where report.json goes (no file when unset)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from .confine import ConfinementUnavailable, run_confined
from .provider import FakeProvider, RunningProvider

OUTPUT_LIMIT = 2000
HARNESS = Path(__file__).parent / "js" / "harness.js"


@dataclass
class _TestEntry:
    id: str
    title: str
    criterion: str | None
    fails_to: int | None = None  # the level a failure caps the criterion at
    critical: str | None = None  # plain words for a failure that caps the overall
    spec: tuple[str, ...] = ()  # ids of the task-text sentences the test enforces
    outcome: str = "passed"
    duration: float = 0.0
    output: str = ""


@dataclass
class _State:
    provider: FakeProvider
    running: RunningProvider | None  # None: it could not listen (provider_error says why)
    app_url: str
    provider_error: str = ""
    app_process: subprocess.Popen[bytes] | None = None
    app_log: Path | None = None
    app_ready: bool | None = None
    app_error: str = ""
    entries: dict[str, _TestEntry] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)


_state: _State | None = None


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def item_id(item: pytest.Item) -> str:
    """Stable across layouts (/tester/tests, .faultline/tests): file name :: test name."""
    return f"{item.path.name}::{item.name}"


def item_title(item: pytest.Item) -> str:
    marker = item.get_closest_marker("title")
    if marker and marker.args:
        return str(marker.args[0])
    doc = getattr(getattr(item, "function", None), "__doc__", None)
    if doc and doc.strip():
        return doc.strip().splitlines()[0].strip().rstrip(".")
    return item.name.removeprefix("test_").replace("_", " ")


def item_criterion(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("criterion")
    return str(marker.args[0]) if marker and marker.args else None


def item_fails_to(item: pytest.Item) -> int | None:
    """The `fails_to=` of the closest criterion marker that declares one."""
    for marker in item.iter_markers("criterion"):
        cap = marker.kwargs.get("fails_to")
        if isinstance(cap, int) and not isinstance(cap, bool):
            return cap
    return None


def item_critical(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("critical")
    return str(marker.args[0]).strip() if marker and marker.args else None


def item_spec(item: pytest.Item) -> tuple[str, ...]:
    """Every sentence id named by the test's spec markers (module, class and own)."""
    ids: list[str] = []
    for marker in item.iter_markers("spec"):
        ids.extend(str(a) for a in marker.args if str(a) not in ids)
    return tuple(ids)


def pytest_configure(config: pytest.Config) -> None:
    global _state
    config.addinivalue_line(
        "markers", "criterion(id): the rubric criterion this test gives evidence for"
    )
    config.addinivalue_line("markers", "title(text): plain-words title shown to hiring managers")
    config.addinivalue_line(
        "markers",
        "critical(text): a failure is a critical fault, in plain words ('Renders model text "
        "as HTML'); it caps the overall score",
    )
    config.addinivalue_line(
        "markers", "spec(*ids): the task-text sentences (spec map ids) this test enforces"
    )
    if _state is not None:
        return
    provider = FakeProvider(seed=int(_env("FAULTLINE_SEED", "0")))
    port = int(_env("FAULTLINE_PROVIDER_PORT", "9100"))
    running: RunningProvider | None = None
    provider_error = ""
    try:
        running = RunningProvider(provider, port=port).start()
    except OSError as exc:
        # The app starts first and shares our loopback: code that takes the provider's
        # port denies the suite its provider. That is the candidate's outcome, stated in
        # every test that needs the provider, not a grading run without a report.
        provider_error = (
            f"the fake model provider could not listen on 127.0.0.1:{port} ({exc.strerror}): "
            "the app took the port reserved for the provider (LLM_BASE_URL)"
        )
    _state = _State(
        provider,
        running,
        _env("FAULTLINE_APP_URL", "http://127.0.0.1:8000").rstrip("/"),
        provider_error=provider_error,
    )
    command = os.environ.get("FAULTLINE_APP_COMMAND")
    if command and running is not None:
        _state.app_log = Path(tempfile.mkdtemp(prefix="faultline-app-")) / "app.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAULTLINE_")}
        env.update(json.loads(_env("FAULTLINE_APP_ENV", "{}")))
        env["LLM_BASE_URL"] = running.base_url
        with _state.app_log.open("wb") as log:
            _state.app_process = subprocess.Popen(
                json.loads(command),
                cwd=_env("FAULTLINE_APP_DIR", "."),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )


def pytest_unconfigure(config: pytest.Config) -> None:
    global _state
    if _state is None:
        return
    if _state.app_process is not None:
        _state.app_process.terminate()
        try:
            _state.app_process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _state.app_process.kill()
            _state.app_process.wait()
    if _state.app_log is not None:
        shutil.rmtree(_state.app_log.parent, ignore_errors=True)
    if _state.running is not None:
        _state.running.stop()
    _state = None


def _app_log_tail() -> str:
    if _state is None or _state.app_log is None or not _state.app_log.exists():
        return ""
    return (
        "\nlast lines of the app's output:\n" + _state.app_log.read_text(errors="replace")[-1500:]
    )


def _wait_for_app() -> None:
    assert _state is not None
    if _state.app_ready is None:
        url = _state.app_url + _env("FAULTLINE_APP_HEALTH", "/healthz")
        deadline = time.monotonic() + float(_env("FAULTLINE_APP_START_TIMEOUT", "20"))
        last = ""
        while True:
            if _state.app_process is not None and _state.app_process.poll() is not None:
                last = f"the app exited with code {_state.app_process.returncode}"
                break
            try:
                httpx.get(url, timeout=2.0)
                _state.app_ready = True
                return
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        _state.app_ready = False
        _state.app_error = (
            f"the app did not answer at {url} ({last}); did it crash at start-up?" + _app_log_tail()
        )
    if not _state.app_ready:
        pytest.fail(_state.app_error, pytrace=False)


@pytest.fixture
def provider(request: pytest.FixtureRequest) -> Iterator[FakeProvider]:
    """The fake provider, reset and reseeded for this test; script it with `.script(...)`."""
    assert _state is not None
    if _state.provider_error:
        pytest.fail(_state.provider_error, pytrace=False)
    seed = int(_env("FAULTLINE_SEED", "0")) ^ zlib.crc32(item_id(request.node).encode())
    _state.provider.reset(seed)
    yield _state.provider
    # Leave nothing scripted behind for the next test.
    _state.provider.reset()


@pytest.fixture
def app_url(provider: FakeProvider) -> str:
    assert _state is not None
    _wait_for_app()
    return _state.app_url


@pytest.fixture
def app(app_url: str) -> Iterator[httpx.Client]:
    """An httpx client for the candidate's app (base URL set, generous timeout)."""
    # No keep-alive: a server that drops a connection after an error would otherwise
    # race the next request on the pooled socket, and verdicts must not depend on races.
    limits = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=app_url, timeout=30.0, limits=limits) as c:
        yield c


@pytest.fixture(scope="session")
def candidate_dir() -> Path:
    return Path(_env("FAULTLINE_CANDIDATE_DIR", ".")).resolve()


def run_candidate_script(
    harness: Path,
    script: Path,
    *,
    candidate: Path,
    input: bytes,
    timeout: float = 30,
) -> subprocess.CompletedProcess[bytes]:
    """`node harness script` with the candidate's script confined (see faultkit.confine):
    it can read only the harness and the `candidate` directory, and reach nothing else."""
    try:
        return run_confined(
            ["node", str(harness), str(script)],
            read_only=[harness, candidate],
            input=input,
            timeout=timeout,
        )
    except ConfinementUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{script.name} did not finish within {timeout:g} s", pytrace=False)


class JsModule:
    """Calls functions of a browser script with node, in a tiny DOM stub (see js/harness.js)."""

    def __init__(self, candidate: Path, relpath: str) -> None:
        self.candidate = candidate
        self.path = candidate / relpath

    def call_many(self, calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        if not self.path.exists():
            pytest.fail(f"{self.path.name} is missing", pytrace=False)
        payload = json.dumps({"calls": [{"fn": fn, "args": args} for fn, args in calls]})
        proc = run_candidate_script(
            HARNESS, self.path, candidate=self.candidate, input=payload.encode()
        )
        if proc.returncode != 0:
            pytest.fail(
                f"node failed: {proc.stderr.decode(errors='replace')[-1500:]}", pytrace=False
            )
        out = json.loads(proc.stdout)
        if out["load_error"]:
            pytest.fail(
                f"{self.path.name} does not load: {out['load_error'][:1500]}", pytrace=False
            )
        return list(out["results"])

    def call(self, fn: str, *args: Any) -> Any:
        (result,) = self.call_many([(fn, list(args))])
        if not result["ok"]:
            pytest.fail(f"{fn}() threw: {result['error']}", pytrace=False)
        return result["value"]


@pytest.fixture(scope="session")
def js(candidate_dir: Path) -> Any:
    """`js("static/app.js").call("renderAnswer", payload)` -> the function's return value;
    `.call_many([(fn, args), ...])` runs several calls in one node process."""
    return lambda relpath: JsModule(candidate_dir, relpath)


# -- reporting --


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    assert _state is not None
    for item in items:
        tid = item_id(item)
        _state.entries[item.nodeid] = _TestEntry(
            tid,
            item_title(item),
            item_criterion(item),
            item_fails_to(item),
            item_critical(item),
            item_spec(item),
        )
        _state.order.append(item.nodeid)
    # Every test the run will have, before any runs: a run stopped at its time limit
    # then still accounts for the tests it never finished (as errors, not as absent).
    collected = [_declared(_state.entries[n]) for n in _state.order]
    os.write(1, ("\nFAULTLINE-COLLECTED " + json.dumps(collected) + "\n").encode())


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _state is None or report.nodeid not in _state.entries:
        return
    entry = _state.entries[report.nodeid]
    entry.duration += report.duration
    if report.skipped and entry.outcome == "passed":
        entry.outcome = "skipped"
        entry.output = _truncate(_longrepr(report))
    elif report.failed and entry.outcome in {"passed", "skipped"}:
        entry.outcome = "failed" if report.when == "call" else "error"
        entry.output = _truncate(_longrepr(report))
    if report.when == "teardown":
        _emit(entry)


def _longrepr(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):  # skip: (file, line, reason)
        return str(report.longrepr[2])
    return report.longreprtext or ""


def _truncate(text: str) -> str:
    if len(text) <= OUTPUT_LIMIT:
        return text
    return "...\n" + text[-OUTPUT_LIMIT:]


def _declared(entry: _TestEntry) -> dict[str, Any]:
    """What a test says about itself, before it runs."""
    return {
        "id": entry.id,
        "title": entry.title,
        "criterion": entry.criterion,
        "fails_to": entry.fails_to,
        "critical": entry.critical,
        "spec": list(entry.spec),
    }


def _entry_dict(entry: _TestEntry) -> dict[str, Any]:
    return {
        **_declared(entry),
        "outcome": entry.outcome,
        "duration": round(entry.duration, 3),
        "output": entry.output,
    }


def _emit(entry: _TestEntry) -> None:
    line = "FAULTLINE-TEST " + json.dumps(_entry_dict(entry))
    # Written straight to the process's stdout: pytest's capture and the terminal
    # reporter's line state must not swallow or glue the line.
    os.write(1, ("\n" + line + "\n").encode())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _state is None:
        return
    tests = [_entry_dict(_state.entries[n]) for n in _state.order]
    counts = {
        k: sum(1 for t in tests if t["outcome"] == k)
        for k in ("passed", "failed", "error", "skipped")
    }
    report = {
        "tests": tests,
        "summary": {
            **counts,
            "total": len(tests),
            "duration": round(time.monotonic() - _state.started, 3),
            "seed": int(_env("FAULTLINE_SEED", "0")),
            "exit_status": int(exitstatus),
            "collection_errors": int(session.testsfailed) if not tests else 0,
        },
    }
    report_dir = os.environ.get("FAULTLINE_REPORT_DIR")
    if report_dir:
        path = Path(report_dir) / "report.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(report, indent=1))
        tmp.replace(path)
