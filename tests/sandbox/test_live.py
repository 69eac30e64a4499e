"""Live sessions (sandbox/live.py) on both backends: the app beside a sidecar, reached
from the host only through the bridge's unix sockets, restarted with new files,
explained when it fails, and never left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import sandbox
import sandbox.live as live
from sandbox.spec import Limits, Party
from tests.requirements import missing, require_bwrap, require_docker
from tests.sandbox.conftest import host_processes_with, left_behind

LIMITS = Limits(wall_seconds=120, cpu_seconds=60, memory_mb=128, pids=32, disk_mb=16)

# A small stdlib server: GET /x answers "<VERSION> /x"; GET /stream sends a line every
# 50 ms and logs "client gone" when the reader hangs up.
SERVER = textwrap.dedent(
    """
    import http.server, os, sys, time
    VERSION = "v1"
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"
        def do_GET(self):
            if self.path == "/stream":
                self.send_response(200)
                self.end_headers()
                try:
                    for i in range(400):
                        self.wfile.write(f"chunk {i}\\n".encode())
                        self.wfile.flush()
                        time.sleep(0.05)
                except OSError:
                    print("client gone", flush=True)
                return
            if self.path == "/probe":
                body = repr((os.path.exists("/live"), os.getuid())).encode()
            else:
                body = f"{VERSION} {self.path}".encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass
    print("booted", VERSION, flush=True)
    print("to stderr", file=sys.stderr, flush=True)
    http.server.ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
    """
)

# The sidecar's own command: a server on a unix socket in $FAULTLINE_LIVE_DIR (as the
# fake provider's control API is) and on 127.0.0.1:9100 (as its completions are).
SIDECAR = textwrap.dedent(
    """
    import os, socket, threading
    def serve(sock):
        while True:
            conn, _ = sock.accept()
            try:
                if conn.recv(1024):
                    conn.sendall(b"HTTP/1.0 200 OK\\r\\ncontent-length: 7\\r\\n\\r\\nsidecar")
            except OSError:
                pass
            conn.close()
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(os.path.join(os.environ["FAULTLINE_LIVE_DIR"], "control.sock"))
    unix.listen()
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 9100))
    tcp.listen()
    threading.Thread(target=serve, args=(tcp,), daemon=True).start()
    serve(unix)
    """
)


def server(version: str = "v1", port: int = 8000) -> dict[str, bytes]:
    code = SERVER.replace('VERSION = "v1"', f"VERSION = {version!r}").replace("PORT", str(port))
    return {"server.py": code.encode()}


def spec(files: dict[str, bytes] | None = None, **changes: object) -> live.LiveSpec:
    values: dict[str, object] = {
        "app": Party(command=["python3", "server.py"], files=files or server()),
        "sidecar": Party(command=["python3", "sidecar.py"], files={"sidecar.py": SIDECAR.encode()}),
        "app_port": 8000,
        # Generous: a loaded CI machine boots slowly; the failing cases set their own.
        "start_timeout": 60.0,
        "limits": LIMITS,
        "retry_delays": (0.1, 0.2),
        "sidecar_sockets": ("control.sock",),
    }
    values.update(changes)
    return live.LiveSpec(**values)  # type: ignore[arg-type]


@pytest.fixture(params=["bwrap", "docker"])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    require_bwrap() if name == "bwrap" else require_docker()
    status = sandbox.get_backend(name).status()
    if not status.available:
        missing(f"sandbox backend {name}: {status.detail}")
    return name


@pytest.fixture
def start(backend: str) -> Iterator[object]:
    sessions: list[live.LiveSession] = []

    def starter(the_spec: live.LiveSpec) -> live.LiveSession:
        session = live.start(the_spec, backend)
        sessions.append(session)
        return session

    yield starter
    for session in sessions:
        session.stop()
        assert sandbox.get_backend(backend).leftovers(session.run_id) == []


def client(session: live.LiveSession) -> httpx.Client:
    return httpx.Client(
        base_url="http://app", transport=httpx.HTTPTransport(uds=str(session.app_socket))
    )


def test_the_app_serves_through_the_bridge_and_a_restart_serves_new_files(
    start: object, backend: str
) -> None:
    session = start(spec())  # type: ignore[operator]
    assert session.wait_settled().state == "running"
    assert client(session).get("/api/papers").text == "v1 /api/papers"
    generation = session.restart(server("v2"))
    status = session.wait_settled(generation)
    assert (status.state, status.generation) == ("running", generation)
    assert client(session).get("/api/papers").text == "v2 /api/papers"
    lines = [(ln.stream, ln.text, ln.generation) for ln in session.logs.since()]
    assert ("stdout", "booted v1", 1) in lines
    assert ("stderr", "to stderr", 1) in lines
    assert ("stdout", "booted v2", generation) in lines


def test_a_session_outlives_the_thread_that_started_it(start: object, backend: str) -> None:
    # A web request's thread starts the session and ends at once (bwrap parties die
    # with the thread that forked them, unless the session's own thread does).
    started: list[live.LiveSession] = []
    thread = threading.Thread(target=lambda: started.append(start(spec())))  # type: ignore[operator]
    thread.start()
    thread.join()
    (session,) = started
    assert session.wait_settled().state == "running"
    # Both parties still answer once the starting thread is long gone.
    assert live.http_status(session.socket("control.sock"), "/") == 200
    assert client(session).get("/after").text == "v1 /after"
    assert session.status().state == "running"


def test_the_host_reaches_the_sidecar_socket_and_the_app_cannot(
    start: object, backend: str
) -> None:
    session = start(spec())  # type: ignore[operator]
    assert session.wait_settled().state == "running"
    assert live.http_status(session.socket("control.sock"), "/") == 200
    # The app has no /live (the bridge's directory) and runs as its own unprivileged uid.
    exists, uid = eval(client(session).get("/probe").text)
    assert exists is False
    assert uid not in (0, 64102)


def test_a_streamed_answer_arrives_chunk_by_chunk_and_a_hang_up_reaches_the_app(
    start: object, backend: str
) -> None:
    session = start(spec())  # type: ignore[operator]
    assert session.wait_settled().state == "running"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(session.app_socket))
        sock.sendall(b"GET /stream HTTP/1.0\r\n\r\n")
        seen = b""
        while b"chunk 1\n" not in seen:
            data = sock.recv(4096)
            assert data, "the stream ended early"
            seen += data
    # The response would go on for 20 s: the first lines came while it still ran.
    assert b"chunk 399" not in seen
    lines = session.logs.wait_for(lambda ln: ln.text == "client gone", timeout=10)
    assert lines, "the app never saw the client hang up"


def test_an_app_that_crashes_later_is_explained_and_started_again(
    start: object, backend: str
) -> None:
    files = server()
    files["server.py"] = files["server.py"].replace(
        b'if self.path == "/probe":',
        b'if self.path == "/crash":\n            os._exit(7)\n        if self.path == "/probe":',
    )
    events: list[live.LiveEvent] = []
    session = live.start(spec(files), backend, on_event=events.append)
    try:
        assert session.wait_settled().state == "running"
        with pytest.raises(httpx.HTTPError):
            client(session).get("/crash")
        status = session.wait_settled(2)
        assert (status.state, status.generation) == ("running", 2)
        crashed = [e for e in events if e.kind == "crashed"]
        assert crashed and "exited with status 7" in crashed[0].detail
        assert "booted v1" in crashed[0].detail  # the last lines of its log
        assert any(ln.text == "the app exited with status 7" for ln in session.logs.since())
    finally:
        session.stop()
    assert sandbox.get_backend(backend).leftovers(session.run_id) == []


@pytest.mark.parametrize(
    ("files", "why"),
    [
        (server(port=8001), "did not answer on /healthz within 1.5 s"),
        ({"server.py": b"print('importing', flush=True)\nwhile True: pass\n"},
         "did not answer on /healthz within 1.5 s"),
        ({"server.py": b"import sys\nprint('bad config', file=sys.stderr)\nsys.exit(3)\n"},
         "exited with status 3 before it answered on /healthz"),
    ],
    ids=["wrong-port", "infinite-loop-at-import", "exits-at-start"],
)  # fmt: skip
def test_an_app_that_never_comes_up_is_explained_retried_then_left_down(
    start: object, backend: str, files: dict[str, bytes], why: str
) -> None:
    session = start(spec(files, start_timeout=1.5, retry_delays=(0.1,)))  # type: ignore[operator]
    status = session.wait_for(lambda st: st.state in ("gave-up", "stopped"), timeout=60)
    assert (status.state, status.generation) == ("gave-up", 2)
    # The state still says why, with the last lines of its log, not only that it gave up.
    assert f"The last time: the app {why}" in status.detail
    notes = [ln.text for ln in session.logs.since() if ln.stream == "faultline"]
    assert f"the app {why}" in notes
    assert "retrying in 0.1 s (attempt 2)" in notes
    assert sum(note == f"the app {why}" for note in notes) == 2
    # It stays down until new files come, then serves them.
    generation = session.restart(server("fixed"), start_timeout=60.0)
    assert session.wait_settled(generation).state == "running"
    assert client(session).get("/").text == "fixed /"


def test_a_fork_bomb_in_the_live_app_is_contained(start: object, backend: str) -> None:
    bomb = (
        b"import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    )
    session = start(spec({"server.py": bomb}, start_timeout=2.0))  # type: ignore[operator]
    status = session.wait_settled(1, timeout=30)
    assert status.state in ("failed", "crashed")
    generation = session.restart(server("after"), start_timeout=60.0)
    assert session.wait_settled(generation).state == "running"
    assert client(session).get("/").text == "after /"


HARNESS = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    import sandbox.live as live
    from sandbox.spec import Party
    from tests.sandbox.test_live import spec
    session = live.start(spec(), {backend!r})
    session.wait_settled()
    print(session.run_id, flush=True)
    time.sleep(600)
    """
)


def kill_harness(backend: str, then: str = "") -> tuple[str, int]:
    """Start a session (and run `then`, Python with `session`) in a harness process, then
    kill it with SIGKILL; the session's run id and the dead harness's pid."""
    root = str(Path(__file__).resolve().parents[2])
    code = HARNESS.format(root=root, backend=backend)
    code = code.replace("print(session.run_id", f"{then}\nprint(session.run_id")
    harness = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, cwd=root)
    assert harness.stdout is not None
    run_id = harness.stdout.readline().decode().strip()
    assert run_id, "the harness did not start a session"
    assert host_processes_with(run_id) or backend == "docker"
    os.kill(harness.pid, signal.SIGKILL)
    harness.wait()
    return run_id, harness.pid


def test_a_killed_harness_leaves_no_live_session_behind(backend: str) -> None:
    run_id, pid = kill_harness(backend)
    assert left_behind(backend, run_id, pid, sweep=False) == []
    assert sandbox.get_backend(backend).leftovers(run_id) == []


def test_a_live_session_yields_the_cpu_to_gradings(start: object, backend: str) -> None:
    session = start(spec())  # type: ignore[operator]
    assert session.wait_settled().state == "running"
    if backend == "docker":
        import docker

        client = docker.from_env()
        found = client.api.containers(filters={"label": f"faultline.run={session.run_id}"})
        shares = [client.api.inspect_container(c["Id"])["HostConfig"]["CpuShares"] for c in found]
        # The sidecar, the app and the next start's container made ahead (if made yet).
        assert len(shares) >= 2 and set(shares) == {live.LIVE_CPU_SHARES}
        return
    from sandbox import cgroups

    if not cgroups.cpu_controller():
        missing("a cpu cgroup controller")
    weights = []
    for group in cgroups.list_groups(session.run_id):
        for name in ("cpu.shares", "cpu.weight"):
            if (Path(group) / name).exists():
                weights.append(int((Path(group) / name).read_text()))
    expected = live.LIVE_CPU_SHARES if cgroups.cgroup_version() == 1 else 25
    # A grading run's parties keep the default weight (1024 / 100): four times as much.
    assert sorted(weights) == [expected] * 2
