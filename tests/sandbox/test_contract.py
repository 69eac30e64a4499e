"""The sandbox contract, run against each backend (see conftest.backend).

Every hostile case checks three things a user of the platform would notice:
the code is contained within its limits, the result says truthfully what
happened, and afterwards nothing is left on the host and a normal run works.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import sandbox
from sandbox import seccomp
from sandbox.backends.base import OPEN_FILES
from sandbox.spec import Party, RunSpec
from tests.sandbox.conftest import (
    SMALL,
    cmdline,
    contained,
    host_processes_with,
    left_behind,
    py,
    start_caller,
)

REPORT_WRITER = """
import json, os, sys
with open(os.path.join(os.environ["FAULTLINE_REPORT_DIR"], "report.json"), "w") as fh:
    json.dump({"verdict": sys.argv[1]}, fh)
"""


# -- the happy paths ---------------------------------------------------------


def test_single_run_gets_a_writable_copy_of_the_files(backend: str) -> None:
    files = {"main.py": b"print(open('data/in.txt').read().upper())", "data/in.txt": b"hello"}
    code = "import runpy; runpy.run_path('main.py'); open('data/in.txt', 'w').write('changed')"
    result = contained(backend, RunSpec(app=Party(command=py(code), files=files), limits=SMALL))
    assert result.app.exit_code == 0
    assert result.app.stdout == "HELLO\n"
    assert files["data/in.txt"] == b"hello"
    assert not result.app.timed_out and not result.app.oom_killed
    assert not result.app.output_truncated


def test_exit_code_and_both_streams_are_reported(backend: str) -> None:
    code = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"
    result = contained(backend, RunSpec(app=Party(command=py(code)), limits=SMALL))
    assert (result.app.exit_code, result.app.stdout, result.app.stderr) == (3, "out\n", "err\n")


def test_a_command_that_cannot_run_is_the_partys_exit_status(backend: str) -> None:
    spec = RunSpec(app=Party(command=["./missing.sh"], files={"other.txt": b""}), limits=SMALL)
    assert contained(backend, spec).app.exit_code == 127
    spec = RunSpec(app=Party(command=["/no/such/binary"]), limits=SMALL)
    assert contained(backend, spec).app.exit_code == 127
    spec = RunSpec(app=Party(command=["./data.txt"], files={"data.txt": b"x"}), limits=SMALL)
    assert contained(backend, spec).app.exit_code == 126


def test_runtime_has_python_packages_and_node(backend: str) -> None:
    code = (
        "import sys, fastapi, uvicorn, httpx, pytest, anyio, pydantic, hypothesis, pytest_asyncio;"
        "print(sys.version_info >= (3, 11), fastapi.__version__, pydantic.__version__)"
    )
    result = contained(backend, RunSpec(app=Party(command=py(code)), limits=SMALL))
    assert result.app.stdout == "True 0.165.0 2.14.4\n", result.app.stderr
    node = contained(backend, RunSpec(app=Party(command=["node", "-e", "console.log(1+1)"])))
    assert node.app.stdout == "2\n", node.app.stderr


def test_pytest_starts_from_its_cache_not_by_rewriting_plugins(backend: str) -> None:
    # Without the cache every sandboxed pytest re-rewrites hypothesis, anyio and
    # pytest-asyncio (about 1.5 s a run): the runtime build must have filled it.
    code = (
        "import importlib, pathlib, _pytest.assertion.rewrite as rw\n"
        "for name in ('hypothesis.core', 'anyio._core._eventloop', 'pytest_asyncio.plugin'):\n"
        "    spec = importlib.util.find_spec(name)\n"
        "    src = pathlib.Path(spec.origin)\n"
        "    pyc = src.parent / '__pycache__' / (src.stem + rw.PYC_TAIL)\n"
        "    print(name, rw._read_pyc(src, pyc) is not None)\n"
    )
    result = contained(backend, RunSpec(app=Party(command=py(code)), limits=SMALL))
    cached = "hypothesis.core True\nanyio._core._eventloop True\npytest_asyncio.plugin True\n"
    assert result.app.stdout == cached, result.app.stderr


def test_environment_is_only_what_was_given(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = f"host-secret-{uuid.uuid4()}"
    monkeypatch.setenv("FAULTLINE_CANARY_SECRET", secret)
    code = "import os, json; print(json.dumps(dict(os.environ)))"
    spec = RunSpec(app=Party(command=py(code), env={"GIVEN": "yes"}), limits=SMALL)
    result = contained(backend, spec)
    env = json.loads(result.app.stdout)
    assert secret not in result.app.stdout
    assert env["GIVEN"] == "yes" and env["HOME"] == "/tmp"
    allowed = {"GIVEN", "PATH", "HOME", "LANG", "PYTHONDONTWRITEBYTECODE", "PWD", "HOSTNAME"}
    assert set(env) <= allowed


def test_two_parties_share_only_loopback_and_the_tester_reports(backend: str) -> None:
    app = (
        "import http.server as h;"
        "h.HTTPServer(('127.0.0.1', 8123), h.SimpleHTTPRequestHandler).serve_forever()"
    )
    tester = """
import json, os, time, urllib.request
for _ in range(300):
    try:
        url = "http://127.0.0.1:8123/page.txt"
        body = urllib.request.urlopen(url, timeout=2).read().decode()
        break
    except OSError:
        time.sleep(0.02)
print("progress: fetched")
with open(os.path.join(os.environ["FAULTLINE_REPORT_DIR"], "report.json"), "w") as fh:
    names = sorted(n for _, n in __import__("socket").if_nameindex())
    json.dump({"body": body, "names": names}, fh)
"""
    lines: list[str] = []
    spec = RunSpec(
        app=Party(command=py(app), files={"page.txt": b"served by the app"}),
        tester=Party(command=py(tester)),
        limits=SMALL,
        on_line=lines.append,
    )
    result = contained(backend, spec)
    assert result.tester is not None and result.tester.exit_code == 0, result.tester
    assert result.report == {"body": "served by the app", "names": ["lo"]}
    assert result.report_error is None
    assert lines == ["progress: fetched"]
    # The app was still serving when the tester finished: the harness stopped it.
    assert result.app.exit_code is None and not result.app.timed_out


def test_localhost_names_the_shared_loopback_in_both_parties(backend: str) -> None:
    # Candidates write "localhost" as often as 127.0.0.1: it must mean the same
    # private loopback on every backend (an empty /etc/hosts once broke it on Docker).
    app = (
        "import http.server as h, socket;"
        "print(socket.gethostbyname('localhost'), socket.gethostbyname(socket.gethostname()),"
        " flush=True);"
        "h.HTTPServer(('localhost', 8123), h.SimpleHTTPRequestHandler).serve_forever()"
    )
    tester = """
import time, urllib.request
for _ in range(300):
    try:
        print(urllib.request.urlopen("http://localhost:8123/page.txt", timeout=2).read().decode())
        break
    except OSError:
        time.sleep(0.02)
"""
    spec = RunSpec(
        app=Party(command=py(app), files={"page.txt": b"served on localhost"}),
        tester=Party(command=py(tester)),
        limits=SMALL,
    )
    result = contained(backend, spec)
    assert result.app.stdout == "127.0.0.1 127.0.0.1\n", result.app
    assert result.tester is not None and result.tester.stdout == "served on localhost\n"


def test_missing_report_is_explained(backend: str) -> None:
    spec = RunSpec(app=Party(command=["sleep", "30"]), tester=Party(command=["true"]), limits=SMALL)
    result = contained(backend, spec)
    assert result.report is None
    assert result.report_error and "no report" in result.report_error


NOTHING_LISTENS = """
import socket, time
time.sleep(3)  # ample for the app to be gone: a tester that ends first has its app stopped
try:
    socket.create_connection(("127.0.0.1", 8000), 1)
except OSError:
    print("refused")
"""


def test_app_that_dies_at_once_still_gets_its_tester_run(backend: str) -> None:
    # A candidate's app that crashes on start: the tester still runs (and finds
    # nothing listening), and both outcomes are reported.
    spec = RunSpec(
        app=Party(command=py("raise SystemExit(3)")),
        tester=Party(command=[*py(REPORT_WRITER + NOTHING_LISTENS), "crashed"]),
        limits=SMALL,
    )
    result = contained(backend, spec)
    assert result.app.exit_code == 3
    assert result.tester is not None and result.tester.exit_code == 0
    assert result.tester.stdout == "refused\n"
    assert result.report == {"verdict": "crashed"}


# -- resource exhaustion -----------------------------------------------------


def test_fork_bomb_is_capped_by_the_pids_limit(backend: str) -> None:
    code = """
import os, time
n = 0
while True:
    try:
        pid = os.fork()
    except OSError as exc:
        print("forks", n, exc.errno, flush=True)
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    n += 1
"""
    result = contained(backend, RunSpec(app=Party(command=py(code)), limits=SMALL))
    assert result.app.exit_code == 0, result.app.stderr
    _, forks, errno_ = result.app.stdout.split()
    assert 0 < int(forks) <= SMALL.pids and int(errno_) == 11  # EAGAIN


def test_unbounded_fork_storm_is_stopped_at_the_wall_limit(backend: str) -> None:
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    limits = replace(SMALL, wall_seconds=2)
    result = contained(backend, RunSpec(app=Party(command=py(code)), limits=limits))
    assert result.app.timed_out and result.app.exit_code is None


def test_thread_bomb_is_capped_by_the_pids_limit(backend: str) -> None:
    code = """
import threading, time
n = 0
try:
    while True:
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
        n += 1
except RuntimeError:
    print("threads", n, flush=True)
"""
    result = contained(backend, RunSpec(app=Party(command=py(code)), limits=SMALL))
    assert result.app.exit_code == 0, result.app.stderr
    assert 0 < int(result.app.stdout.split()[1]) <= SMALL.pids


def test_descriptor_bomb_is_capped_per_process(backend: str) -> None:
    # Open files are not memory a cgroup v1 limit sees: each process gets a fixed
    # number, which it cannot raise, so the run cannot fill the host's file table.
    code = """
import os, resource
counts = []
for _ in range(8):
    r, w = os.pipe()
    if os.fork() == 0:
        n = 0
        try:
            while True:
                os.open("/dev/null", os.O_RDONLY)
                n += 1
        except OSError:
            os.write(w, b"%d\\n" % n)
            os._exit(0)
    os.close(w)
    counts.append(int(os.read(r, 64)))
    os.wait()
try:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1 << 20, 1 << 20))
    raised = "raised"
except (ValueError, OSError):
    raised = "refused"
print(max(counts), min(counts), raised)
"""
    result = contained(backend, RunSpec(app=Party(command=py(code)), limits=SMALL))
    assert result.app.exit_code == 0, result.app.stderr
    most, least, raised = result.app.stdout.split()
    assert 0 < int(least) <= int(most) <= OPEN_FILES
    assert raised == "refused"


def test_memory_bomb_is_killed_and_reported(backend: str) -> None:
    code = "chunks = []\nwhile True:\n    chunks.append(bytearray(1024 * 1024))"
    result = contained(backend, RunSpec(app=Party(command=py(code)), limits=SMALL))
    assert result.app.oom_killed
    assert result.app.exit_code == 137 and not result.app.timed_out


@pytest.mark.parametrize("where", ["/dev/shm", "memfd"])
def test_memory_held_in_files_counts_against_the_memory_limit(backend: str, where: str) -> None:
    # A disk limit above the memory limit: only the memory cgroup stands between the
    # candidate and the host's RAM when the bytes live in a tmpfs or an anonymous file.
    opener = (
        "os.memfd_create('hoard')"
        if where == "memfd"
        else "os.open('/dev/shm/hoard', os.O_CREAT | os.O_WRONLY)"
    )
    code = f"""
import os
fd = {opener}
for _ in range(1024):
    os.write(fd, b'x' * 1024 * 1024)
print("wrote 1 GiB")
"""
    limits = replace(SMALL, memory_mb=64, disk_mb=512)
    result = contained(backend, RunSpec(app=Party(command=py(code)), limits=limits))
    assert result.app.oom_killed and result.app.exit_code == 137, result.app.stderr
    assert "wrote" not in result.app.stdout


def _fill(path: str, chunk: str) -> str:
    return f"""
import errno, os
written = 0
try:
    with open({path!r}, "wb") as fh:
        while True:
            fh.write({chunk})
            fh.flush()
            written += 1
except OSError as exc:
    print(errno.errorcode[exc.errno], written, flush=True)
"""


@pytest.mark.parametrize("where", ["/workspace/fill.bin", "/tmp/fill.bin"])
def test_disk_fill_hits_the_disk_limit(backend: str, where: str) -> None:
    code = _fill(where, "b'x' * 1024 * 1024")
    result = contained(backend, RunSpec(app=Party(command=py(code)), limits=SMALL))
    assert not result.app.oom_killed, result.app.stderr
    err, megabytes = result.app.stdout.split()
    assert err == "ENOSPC" and int(megabytes) <= SMALL.disk_mb


def test_inode_exhaustion_hits_a_limit(backend: str) -> None:
    code = """
import errno, os
n = 0
try:
    while True:
        open(f"f{n}", "w").close()
        n += 1
except OSError as exc:
    print(errno.errorcode[exc.errno], n, flush=True)
"""
    result = contained(backend, RunSpec(app=Party(command=py(code)), limits=SMALL))
    err, count = result.app.stdout.split()
    assert err == "ENOSPC" and 0 < int(count) < 100_000


def test_output_flood_is_truncated_without_blocking(backend: str) -> None:
    code = """
import sys
line = "x" * 9999 + "\\n"
for _ in range(2000):
    sys.stdout.write(line)
    sys.stderr.write(line)
print("finished", file=sys.stderr)
"""
    lines: list[str] = []
    spec = RunSpec(app=Party(command=py(code)), limits=SMALL, on_line=lines.append)
    result = contained(backend, spec)
    assert result.app.exit_code == 0 and not result.app.timed_out
    assert result.app.output_truncated
    assert len(result.app.stdout.encode()) <= SMALL.output_bytes
    assert len(result.app.stderr.encode()) <= SMALL.output_bytes
    assert len(lines) == 2000  # every line reached the live callback


def test_cpu_loop_is_stopped_by_the_cpu_limit(backend: str) -> None:
    limits = replace(SMALL, cpu_seconds=1, wall_seconds=20)
    result = contained(backend, RunSpec(app=Party(command=py("while True: pass")), limits=limits))
    assert not result.app.timed_out
    assert result.app.exit_code in (128 + signal.SIGXCPU, 128 + signal.SIGKILL)


CPU_HOG = """
import os, time
t0 = time.monotonic()
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        while time.monotonic() - t0 < 2:
            pass
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
t = os.times()
print((t.children_user + t.children_system) / (time.monotonic() - t0))
"""


def test_processes_spinning_together_get_only_the_cpu_share(backend: str) -> None:
    # Four spinners on this machine's cores would take them all (the other
    # candidates' runs with them); a party gets its share, here half a core.
    config = replace(sandbox.get_backend(backend).config, cpus=0.5, warm=0)  # type: ignore[attr-defined]
    half_core = type(sandbox.get_backend(backend))(config)  # type: ignore[call-arg]
    result = half_core.run(RunSpec(app=Party(command=py(CPU_HOG)), limits=SMALL))
    assert result.app.exit_code == 0, result.app.stderr
    assert float(result.app.stdout) < 0.6  # cores used, on average
    assert half_core.leftovers(result.run_id) == []


def test_sleep_forever_is_stopped_at_the_wall_limit(backend: str) -> None:
    limits = replace(SMALL, wall_seconds=1)
    result = contained(backend, RunSpec(app=Party(command=["sleep", "1000"]), limits=limits))
    assert result.app.timed_out and result.app.exit_code is None


def test_program_ignoring_sigterm_is_still_stopped(backend: str) -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        "print('ignoring', flush=True); time.sleep(1000)"
    )
    limits = replace(SMALL, wall_seconds=1.5)
    result = contained(backend, RunSpec(app=Party(command=py(code)), limits=limits))
    assert result.app.timed_out and result.app.stdout == "ignoring\n"


def test_double_fork_survivor_does_not_outlive_the_run(backend: str) -> None:
    marker = f"survivor-{uuid.uuid4()}"
    code = f"""
import os, subprocess
if os.fork() == 0:
    os.setsid()
    subprocess.Popen(["python3", "-c", "import time; time.sleep(300)", {marker!r}],
                     start_new_session=True)
    os._exit(0)
os.wait()
print("parent done", flush=True)
"""
    result = contained(backend, RunSpec(app=Party(command=py(code)), limits=SMALL))
    assert result.app.exit_code == 0 and not result.app.timed_out
    assert result.app.stdout == "parent done\n"
    assert host_processes_with(marker) == []


# -- escaping ----------------------------------------------------------------


@pytest.fixture
def host_server() -> Iterator[tuple[int, list[str]]]:
    """A TCP server on the host's 127.0.0.1 that records every connection it accepts."""
    accepted: list[str] = []
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            accepted.append("connection")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def test_network_egress_is_impossible(backend: str, host_server: tuple[int, list[str]]) -> None:
    port, accepted = host_server
    # Only documentation/private addresses: the sandbox has no route, so nothing is sent.
    code = f"""
import errno, socket
for host, port in [("127.0.0.1", {port}), ("10.255.255.1", 80), ("192.0.2.1", 443),
                   ("8.8.8.8", 53)]:
    try:
        socket.create_connection((host, port), timeout=3).close()
        print(host, "CONNECTED")
    except OSError as exc:
        print(host, errno.errorcode.get(exc.errno, exc.errno))
print("interfaces", sorted(n for _, n in socket.if_nameindex()))
"""
    result = contained(backend, RunSpec(app=Party(command=py(code)), limits=SMALL))
    out = result.app.stdout
    assert "CONNECTED" not in out, out
    assert "127.0.0.1 ECONNREFUSED" in out
    for host in ("10.255.255.1", "192.0.2.1", "8.8.8.8"):
        assert f"{host} ENETUNREACH" in out
    assert "interfaces ['lo']" in out
    assert accepted == []


def test_only_namespaced_socket_families_can_be_opened(backend: str) -> None:
    """Unix, IPv4, IPv6 and netlink sockets work (the network namespace confines them);
    any other family fails as if the kernel lacked it. AF_VSOCK, above all, reaches a
    VM's host from inside any network namespace: a way out of "no network"."""
    stream, raw = int(socket.SOCK_STREAM), int(socket.SOCK_RAW)
    allowed = {"AF_UNIX": (1, stream), "AF_INET": (2, stream), "AF_NETLINK": (16, raw)}
    assert {n for n, _ in allowed.values()} <= set(seccomp.socket_families().values())
    refused = {"AF_VSOCK": (40, stream), "AF_PACKET": (17, raw), "AF_ALG": (38, 5)}
    code = f"""
import errno, socket
for name, (family, kind) in {allowed | refused!r}.items():
    try:
        socket.socket(family, kind).close()
        print(name, "open")
    except OSError as exc:
        print(name, errno.errorcode.get(exc.errno, exc.errno))
try:
    socket.socketpair(40, socket.SOCK_STREAM)
except OSError as exc:
    print("AF_VSOCK pair", errno.errorcode.get(exc.errno, exc.errno))
"""
    result = contained(backend, RunSpec(app=Party(command=py(code)), limits=SMALL))
    assert result.app.stdout.splitlines() == [
        *(f"{name} open" for name in allowed),
        *(f"{name} EAFNOSUPPORT" for name in refused),
        "AF_VSOCK pair EAFNOSUPPORT",
    ], result.app


def test_files_outside_the_workspace_are_invisible(backend: str) -> None:
    secret = f"host-file-secret-{uuid.uuid4()}"
    with tempfile.NamedTemporaryFile("w", prefix="faultline-canary-", dir="/tmp") as canary:
        canary.write(secret)
        canary.flush()
        code = f"""
import os
for path in [{canary.name!r}, "/etc/shadow", "/root", "/work", "/var/run/docker.sock",
             "/run/docker.sock", {str(Path.cwd())!r}, "/proc/1/root/etc/shadow"]:
    try:
        if os.path.isdir(path):
            print(path, "LISTED", os.listdir(path))
        else:
            print(path, "READ", open(path).read())
    except OSError as exc:
        print(path, type(exc).__name__)
"""
        result = contained(backend, RunSpec(app=Party(command=py(code)), limits=SMALL))
    assert secret not in result.app.stdout
    assert "READ" not in result.app.stdout and "LISTED" not in result.app.stdout, result.app.stdout


def test_app_cannot_see_the_tester_files_or_report(backend: str) -> None:
    secret = f"hidden-test-{uuid.uuid4()}"
    app = f"""
import os, time
hits = []
for root, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys", "/usr", "/dev")]
    for name in files:
        try:
            with open(os.path.join(root, name), "rb") as fh:
                if {secret!r}.encode() in fh.read(1 << 20):
                    hits.append(os.path.join(root, name))
        except OSError:
            pass
print("hits", hits, os.path.exists("/tester"), os.path.exists("/report"), flush=True)
time.sleep(30)
"""
    tester = "import time, runpy; time.sleep(1.5); runpy.run_path('writer.py')"
    spec = RunSpec(
        app=Party(command=py(app)),
        tester=Party(
            command=[*py(tester), "ok"],
            files={"writer.py": REPORT_WRITER.encode(), "hidden_test.py": secret.encode()},
        ),
        limits=SMALL,
    )
    result = contained(backend, spec)
    assert result.app.stdout.startswith("hits [] "), result.app.stdout
    assert result.report == {"verdict": "ok"}


def test_writes_outside_the_workspace_fail(backend: str) -> None:
    code = """
for path in ["/usr/evil", "/etc/evil", "/opt/faultline-venv/evil", "/evil", "/bin/evil",
             "/dev/evil"]:
    try:
        open(path, "w").write("x")
        print(path, "WRITTEN")
    except OSError as exc:
        print(path, type(exc).__name__)
"""
    result = contained(backend, RunSpec(app=Party(command=py(code)), limits=SMALL))
    assert "WRITTEN" not in result.app.stdout and result.app.stdout.count("\n") == 6


def test_processes_outside_cannot_be_signalled(backend: str) -> None:
    victim = subprocess.Popen(["sleep", "300"])
    try:
        code = f"""
import os, signal
for pid in [{victim.pid}, {os.getpid()}, 1]:
    try:
        os.kill(pid, signal.SIGKILL)
        print(pid, "KILLED")
    except OSError as exc:
        print(pid, type(exc).__name__)
try:
    os.kill(-1, signal.SIGKILL)
except OSError:
    pass
"""
        result = contained(backend, RunSpec(app=Party(command=py(code)), limits=SMALL))
        assert f"{victim.pid} KILLED" not in result.app.stdout
        assert f"{os.getpid()} KILLED" not in result.app.stdout
        assert victim.poll() is None
    finally:
        victim.kill()
        victim.wait()


def test_one_app_cannot_use_up_what_the_kernel_counts_per_user(backend: str) -> None:
    # inotify instances are counted per host uid, not per cgroup: an app that
    # takes all of them must leave other candidates' apps theirs.
    limit = int(Path("/proc/sys/fs/inotify/max_user_instances").read_text())
    hog = f"""
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
held = 0
while held < {limit} + 1:
    r, w = os.pipe()
    if os.fork() == 0:  # up to 1000 a process: the open-files limit is per process
        n = 0
        while n < 1000 and libc.inotify_init1(0) >= 0:
            n += 1
        os.write(w, b"%d" % n)
        time.sleep(60)
    os.close(w)
    got = int(os.read(r, 32))
    held += got
    if got < 1000:
        break
print("holding", held, flush=True)
time.sleep(30)
"""
    holding = threading.Event()
    hog_spec = RunSpec(
        app=Party(command=py(hog)),
        limits=replace(SMALL, wall_seconds=10),
        on_line=lambda line: holding.set() if line.startswith("holding") else None,
    )
    results: list[sandbox.RunResult] = []
    hog_run = threading.Thread(target=lambda: results.append(sandbox.run(hog_spec, backend)))
    hog_run.start()
    try:
        assert holding.wait(30), "the hog never got going"
        probe = "import ctypes; print(ctypes.CDLL(None).inotify_init1(0) >= 0)"
        other = sandbox.run(RunSpec(app=Party(command=py(probe)), limits=SMALL), backend)
        assert hog_run.is_alive(), "the hog let go before the other app looked"
        assert other.app.stdout == "True\n", other.app.stderr
    finally:
        hog_run.join(60)  # the hog is stopped at its wall limit
    assert results and results[0].app.stdout == f"holding {limit}\n"


def test_app_cannot_kill_the_tester(backend: str) -> None:
    app = """
import os, signal, time
while True:
    for pid in range(2, 400):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass
    time.sleep(0.01)
"""
    tester = "import time, runpy; time.sleep(1); runpy.run_path('writer.py')"
    spec = RunSpec(
        app=Party(command=py(app)),
        tester=Party(
            command=[*py(tester), "survived"], files={"writer.py": REPORT_WRITER.encode()}
        ),
        limits=SMALL,
    )
    result = contained(backend, spec)
    assert result.tester is not None and result.tester.exit_code == 0
    assert result.report == {"verdict": "survived"}


def test_no_capabilities_and_no_privilege_gain(backend: str) -> None:
    code = """
import os
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
print(int(status["CapEff"], 16), int(status["CapPrm"], 16), int(status["NoNewPrivs"]), os.getuid())
def new_user_namespace():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
        raise OSError(ctypes.get_errno(), "unshare")
attempts = (lambda: os.setuid(0), lambda: os.chroot("/tmp"), lambda: os.setgroups([0]),
            new_user_namespace)
for attempt in attempts:
    try:
        attempt()
        print("GAINED")
    except OSError as exc:
        print(type(exc).__name__)
"""
    result = contained(backend, RunSpec(app=Party(command=py(code)), limits=SMALL))
    first, *rest = result.app.stdout.splitlines()
    cap_eff, cap_prm, no_new_privs, uid = map(int, first.split())
    assert (cap_eff, cap_prm, no_new_privs) == (0, 0, 1)
    assert uid != 0
    assert len(rest) == 4 and "GAINED" not in rest


def test_kernel_attack_surface_calls_are_refused(backend: str) -> None:
    """io_uring, userfaultfd, bpf, perf events, the keyring, modules, mounts, new
    namespaces and ptrace: the seccomp filter refuses them with EPERM on both backends, while
    threads and child processes (which use clone/clone3) still work."""
    numbers = seccomp.blocked()
    if not numbers:
        pytest.skip(f"no seccomp filter for {os.uname().machine}")
    code = f"""
import ctypes, errno, subprocess, threading
libc = ctypes.CDLL(None, use_errno=True)
for name, nr in sorted({numbers!r}.items()):
    ctypes.set_errno(0)
    result = libc.syscall(nr, 0, 0, 0, 0, 0)
    print(name, result, errno.errorcode.get(ctypes.get_errno()))
worker = threading.Thread(target=print, args=("thread ok",))
worker.start(); worker.join()
print(subprocess.run(["echo", "child ok"], capture_output=True, text=True).stdout.strip())
"""
    result = contained(backend, RunSpec(app=Party(command=py(code)), limits=SMALL))
    lines = result.app.stdout.splitlines()
    assert lines[-2:] == ["thread ok", "child ok"], result.app
    assert lines[:-2] == [f"{name} -1 EPERM" for name in sorted(numbers)]


def test_symlinks_made_inside_never_lead_the_host_outside(backend: str) -> None:
    secret = f"host-secret-{uuid.uuid4()}"
    with tempfile.NamedTemporaryFile("w", prefix="faultline-canary-", dir="/tmp") as canary:
        canary.write(secret)
        canary.flush()
        app = (
            f"import os; os.symlink({canary.name!r}, 'link');"
            "os.symlink('/', 'root');"
            "print(open('link').read() if os.path.exists('link') else 'dangling')"
        )
        # The tester plants links where the host reads the report (cf. Judge0 CVE-2024-28185).
        tester = (
            f"import os; os.symlink({canary.name!r},"
            "os.environ['FAULTLINE_REPORT_DIR'] + '/report.json')"
        )
        spec = RunSpec(app=Party(command=py(app)), tester=Party(command=py(tester)), limits=SMALL)
        result = contained(backend, spec)
    assert secret not in result.app.stdout
    assert result.report is None
    assert result.report_error and "regular file" in result.report_error
    assert secret not in json.dumps(result.report) + result.report_error


def test_report_that_is_a_fifo_or_huge_is_refused(backend: str) -> None:
    tester = (
        "import os; d = os.environ['FAULTLINE_REPORT_DIR'];"
        "open(d + '/report.json', 'w').write('[' + '1,' * 700000 + '1]')"
    )
    spec = RunSpec(app=Party(command=["true"]), tester=Party(command=py(tester)), limits=SMALL)
    result = contained(backend, spec)
    assert result.report is None and result.report_error and "larger" in result.report_error
    fifo = "import os; os.mkfifo(os.environ['FAULTLINE_REPORT_DIR'] + '/report.json')"
    spec = RunSpec(app=Party(command=["true"]), tester=Party(command=py(fifo)), limits=SMALL)
    result = contained(backend, spec)
    assert result.report is None and result.report_error


def test_app_cannot_forge_the_report(backend: str) -> None:
    app = """
import os, json
for d in ["/report", "/tester", os.environ.get("FAULTLINE_REPORT_DIR", "/report"), "/tmp", "."]:
    try:
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "report.json"), "w") as fh:
            json.dump({"verdict": "forged"}, fh)
    except OSError:
        pass
print("env", "FAULTLINE_REPORT_DIR" in os.environ, flush=True)
import time; time.sleep(30)
"""
    tester = "import time, runpy; time.sleep(1); runpy.run_path('writer.py')"
    spec = RunSpec(
        app=Party(command=py(app)),
        tester=Party(command=[*py(tester), "honest"], files={"writer.py": REPORT_WRITER.encode()}),
        limits=SMALL,
    )
    result = contained(backend, spec)
    assert result.report == {"verdict": "honest"}
    assert result.app.stdout == "env False\n"


def test_tester_timeout_stops_both_parties(backend: str) -> None:
    spec = RunSpec(
        app=Party(command=["sleep", "1000"]),
        tester=Party(command=["sleep", "1000"]),
        limits=replace(SMALL, wall_seconds=1),
    )
    result = contained(backend, spec)
    assert result.tester is not None and result.tester.timed_out
    assert result.app.timed_out and result.app.exit_code is None


def _api_caller(backend: str, marker: str) -> subprocess.Popen[bytes]:
    code = (
        "import sandbox, sys; from sandbox.spec import *;"
        "cmd = ['python3', '-c', 'import time; time.sleep(300)', sys.argv[2]];"
        "sandbox.run(RunSpec(app=Party(command=cmd), limits=Limits(wall_seconds=300)), sys.argv[1])"
    )
    return start_caller([sys.executable, "-c", code, backend, marker], marker)


def test_killed_caller_leaves_nothing_behind(backend: str) -> None:
    # No sweep here: the caller's reaper sees it die and cleans up at once.
    marker = f"orphan-{uuid.uuid4()}"
    caller = _api_caller(backend, marker)
    caller.kill()
    caller.wait()
    assert left_behind(backend, marker, caller.pid, sweep=False) == []
    assert sandbox.run(RunSpec(app=Party(command=["true"])), backend).app.exit_code == 0


def test_caller_killed_with_its_reaper_is_cleaned_by_a_sweep(backend: str) -> None:
    marker = f"orphan-{uuid.uuid4()}"
    caller = _api_caller(backend, marker)
    owner = str(caller.pid)
    reapers = [p for p in host_processes_with("reaper.py") if cmdline(p)[-2:-1] == [owner]]
    assert reapers, "the caller started no reaper"
    for pid in reapers:
        os.kill(pid, signal.SIGKILL)
    caller.kill()
    caller.wait()
    assert left_behind(backend, marker, caller.pid, sweep=True) == []
    assert sandbox.run(RunSpec(app=Party(command=["true"])), backend).app.exit_code == 0
