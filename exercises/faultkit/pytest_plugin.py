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
  FAULTLINE_WORKERS            JSON list of [app URL, provider port]: run the tests in that
                               many worker processes, worker i against the i-th app with
                               its own provider on the i-th port (hidden runs, see below)
  FAULTLINE_ALONE              JSON list of test files or file::name: with workers, these
                               run after every worker's share, one at a time, nothing beside
  FAULTLINE_CRITERION          run only the tests of this rubric criterion (the exercise
                               check grades a mutant on the criterion it names)

Workers: the session collects once, then forks one process per extra worker. Each
worker starts its own provider and claims the next unclaimed test (an O_EXCL file per
test, so claiming needs no coordinator), runs it against its own app, and the first
process gathers every worker's results into the one report. Each app instance sees
one test at a time, as with a single worker, so tests need not be written for it.
The tests named in FAULTLINE_ALONE wait until every other worker has finished; then the
first process runs them, so nothing else loads the machine while they run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
import zlib
from collections.abc import Iterator, Sequence
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
    # Seconds from the plugin's start until the app first answered (the boot, for profiles).
    app_boot: float | None = None
    boot_wait: float = 0.0  # how long the first test waited for the boot (not its own time)
    # Worker mode: (app URL, provider port) per worker, and this process's index.
    workers: list[tuple[str, int]] = field(default_factory=list)
    worker: int = 0
    claims: Path | None = None  # where workers claim tests and leave their results
    alone: tuple[str, ...] = ()  # FAULTLINE_ALONE: file names and file::name test ids


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
    workers = [(str(url), int(port)) for url, port in json.loads(_env("FAULTLINE_WORKERS", "[]"))]
    _state = _State(provider, None, _env("FAULTLINE_APP_URL", "http://127.0.0.1:8000").rstrip("/"))
    _state.workers = workers
    _state.alone = tuple(str(a) for a in json.loads(_env("FAULTLINE_ALONE", "[]")))
    if len(workers) > 1:
        # Each worker starts its provider after the fork: a server thread started
        # before it would not exist in the children.
        return
    _start_provider(int(_env("FAULTLINE_PROVIDER_PORT", "9100")))
    command = os.environ.get("FAULTLINE_APP_COMMAND")
    running = _state.running
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


def _start_provider(port: int) -> None:
    assert _state is not None
    try:
        _state.running = RunningProvider(_state.provider, port=port).start()
    except OSError as exc:
        # The app starts first and shares our loopback: code that takes the provider's
        # port denies the suite its provider. That is the candidate's outcome, stated in
        # every test that needs the provider, not a grading run without a report.
        _state.provider_error = (
            f"the fake model provider could not listen on 127.0.0.1:{port} ({exc.strerror}): "
            "the app took the port reserved for the provider (LLM_BASE_URL)"
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
        waited = time.monotonic()
        deadline = time.monotonic() + float(_env("FAULTLINE_APP_START_TIMEOUT", "20"))
        last = ""
        while True:
            if _state.app_process is not None and _state.app_process.poll() is not None:
                last = f"the app exited with code {_state.app_process.returncode}"
                break
            try:
                httpx.get(url, timeout=2.0)
                _state.app_ready = True
                _state.app_boot = round(time.monotonic() - _state.started, 3)
                # The boot is the run's, not this test's: profiles and floors count it once.
                _state.boot_wait = time.monotonic() - waited
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    assert _state is not None
    only = _env("FAULTLINE_CRITERION", "")
    if only:
        left_out = [item for item in items if item_criterion(item) != only]
        if left_out:
            config.hook.pytest_deselected(items=left_out)
            items[:] = [item for item in items if item_criterion(item) == only]
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
    if report.when == "setup" and _state.boot_wait:
        entry.duration = max(0.0, entry.duration - _state.boot_wait)
        _state.boot_wait = 0.0
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
    data = ("\n" + line + "\n").encode()
    if _state is None or _state.claims is None:
        os.write(1, data)
        return
    # Workers share the pipe: a line longer than PIPE_BUF could interleave with another's.
    with (_state.claims / "emit.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        while data:
            data = data[os.write(1, data) :]


# -- workers --


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    if _state is None or len(_state.workers) <= 1:
        return None  # pytest's own loop
    if session.testsfailed and not session.config.option.continue_on_collection_errors:
        raise session.Interrupted(f"{session.testsfailed} error(s) during collection")
    if session.config.option.collectonly:
        return True
    _state.claims = Path(tempfile.mkdtemp(prefix="faultline-claims-"))
    children: list[int] = []
    for index in range(1, len(_state.workers)):
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child leaves through os._exit
            os.close(ready_r)
            status = 1
            try:
                # Our own capture files: the parent's are shared file offsets after a fork.
                capman = session.config.pluginmanager.getplugin("capturemanager")
                if capman is not None:
                    capman.stop_global_capturing()
                    capman.start_global_capturing()
                    capman.suspend_global_capture()
                os.write(ready_w, b"1")
                os.close(ready_w)
                _worker_run(session, index)
                status = 0
            finally:
                os._exit(status)
        os.close(ready_w)
        os.read(ready_r, 1)  # start testing once the child no longer touches our capture
        os.close(ready_r)
        children.append(pid)
    ran = _worker_run(session, 0, children)
    _gather(ran, len(children))
    shutil.rmtree(_state.claims, ignore_errors=True)
    return True


def _claim(index: int) -> bool:
    assert _state is not None and _state.claims is not None
    try:
        os.close(os.open(_state.claims / f"claim-{index}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def _is_alone(item: pytest.Item) -> bool:
    assert _state is not None
    tid = item_id(item)
    return item.path.name in _state.alone or tid.split("[", 1)[0] in _state.alone


def _worker_run(session: pytest.Session, worker: int, children: Sequence[int] = ()) -> set[str]:
    """Run the tests this worker claims, in collection order; in a child, leave the results.
    The first worker then waits for the `children` and runs the tests that run alone."""
    assert _state is not None and _state.claims is not None
    _state.worker = worker
    _state.app_url, port = _state.workers[worker]
    _state.app_url = _state.app_url.rstrip("/")
    _start_provider(port)
    items = session.items
    shared = [i for i, item in enumerate(items) if not _is_alone(item)]
    ran: set[str] = set()
    previous: pytest.Item | None = None

    def run(index: int, following: pytest.Item | None) -> None:
        nonlocal previous
        item = items[index]
        if previous is not None:
            # `previous` ran with the next item in its list as its next item (keeping
            # module fixtures up); another worker may have taken that one. A module
            # fixture's teardown failing is no verdict on the next test.
            with contextlib.suppress(Exception):
                session._setupstate.teardown_exact(item)
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=following)
        ran.add(item.nodeid)
        previous = item

    try:
        for n, index in enumerate(shared):
            if _claim(index):
                run(index, items[shared[n + 1]] if n + 1 < len(shared) else None)
        if worker == 0:
            for pid in children:
                os.waitpid(pid, 0)
            # Every other worker has stopped: nothing runs beside the tests that run alone.
            lone = sorted(set(range(len(items))) - set(shared))
            for n, index in enumerate(lone):
                if _claim(index):
                    run(index, items[lone[n + 1]] if n + 1 < len(lone) else None)
        session._setupstate.teardown_exact(None)
    finally:
        if _state.running is not None:
            _state.running.stop()
            _state.running = None
    if worker:
        results = {
            "entries": {n: _entry_dict(_state.entries[n]) for n in ran},
            "app_boot": _state.app_boot,
        }
        path = _state.claims / f"worker-{worker}.json"
        path.with_suffix(".tmp").write_text(json.dumps(results))
        path.with_suffix(".tmp").replace(path)
    return ran


def _gather(ran: set[str], children: int) -> None:
    """Every worker's results into this process's entries: the report is written once."""
    assert _state is not None and _state.claims is not None
    boots = [_state.app_boot]
    for worker in range(1, children + 1):
        path = _state.claims / f"worker-{worker}.json"
        try:
            results = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # its tests are errors below
        boots.append(results.get("app_boot"))
        for nodeid, entry in results["entries"].items():
            if nodeid in _state.entries and nodeid not in ran:
                # Declared fields are the same in every worker (one collection): take the run.
                mine = _state.entries[nodeid]
                mine.outcome, mine.duration = entry["outcome"], float(entry["duration"])
                mine.output = entry["output"]
                ran.add(nodeid)
    for nodeid in _state.order:
        if nodeid not in ran:
            # Claimed by a worker that died before it reported: never a silent pass.
            entry = _state.entries[nodeid]
            entry.outcome, entry.output = "error", "did not finish: its test worker stopped"
            _emit(entry)
    known = [b for b in boots if b is not None]
    _state.app_boot = max(known) if known else None


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
            "app_boot": _state.app_boot,
            "workers": max(1, len(_state.workers)),
        },
    }
    report_dir = os.environ.get("FAULTLINE_REPORT_DIR")
    if report_dir:
        path = Path(report_dir) / "report.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(report, indent=1))
        tmp.replace(path)
