"""A live session's terminal (sandbox/terminal.py, sandbox/live_shell.py) on both backends:
a shell on a pty beside the app, as the candidate, reaching the app on the loopback and
nothing else, its files going both ways, and hostile use contained."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import sandbox
import sandbox.live as live
import sandbox.terminal as terminal
from sandbox.spec import SandboxError
from tests.sandbox.conftest import left_behind
from tests.sandbox.test_live import backend, client, kill_harness, spec  # noqa: F401 - fixture

WAIT = 60.0


class Screen:
    """What the terminal printed, with a wait for a text to appear."""

    def __init__(self) -> None:
        self.data = b""
        self.exited: str | None = None
        self._cond = threading.Condition()

    def output(self, data: bytes) -> None:
        with self._cond:
            self.data += data
            self._cond.notify_all()

    def exit(self, reason: str) -> None:
        with self._cond:
            self.exited = reason
            self._cond.notify_all()

    def wait(self, text: str, after: int = 0) -> int:
        """Wait until `text` is printed after offset `after`; its end offset."""
        needle = text.encode()
        with self._cond:
            found = self._cond.wait_for(lambda: needle in self.data[after:], WAIT)
            assert found, f"{text!r} never appeared; the screen: {self.data[-2000:]!r}"
            return self.data.index(needle, after) + len(needle)

    def wait_exit(self) -> str:
        with self._cond:
            self._cond.wait_for(lambda: self.exited is not None, WAIT)
            assert self.exited is not None, "the shell did not exit"
            return self.exited


@pytest.fixture
def session(backend: str) -> Iterator[live.LiveSession]:  # noqa: F811 - the imported fixture
    started = live.start(spec(), backend)
    assert started.wait_settled().state == "running"
    yield started
    started.stop()
    assert sandbox.get_backend(backend).leftovers(started.run_id) == []


def shell(session: live.LiveSession) -> tuple[terminal.Terminal, Screen]:
    screen = Screen()
    term = session.open_terminal(on_output=screen.output, on_exit=screen.exit)
    return term, screen


def run(term: terminal.Terminal, screen: Screen, line: str, marker: str) -> str:
    """Type `line`, then wait for `marker` (which the line prints, the echo does not)."""
    start = len(screen.data)
    term.write(line.encode() + b"\r")
    end = screen.wait(marker, start)
    return screen.data[start:end].decode(errors="replace")


def test_the_shell_runs_python_as_the_candidate_and_reaches_the_app(
    session: live.LiveSession,
) -> None:
    term, screen = shell(session)
    assert "42" in run(term, screen, 'python3 -c "print(6*7)" | sed s/^/=/', "=42")
    fetch = (
        'python3 -c "import urllib.request as u; '
        "print('got', u.urlopen('http://localhost:8000/hi').read().decode())\""
    )
    assert run(term, screen, fetch, "got v1 /hi\r\n")
    app_uid = client(session).get("/probe").text  # "(False, <uid>)" as the app sees itself
    uid = app_uid.split()[-1].rstrip(")")
    assert run(term, screen, "echo uid=$(id -u)=", f"uid={uid}=\r\n")
    # The same terminal again while it runs: a second caller attaches, no second shell.
    assert session.open_terminal() is term


def test_files_go_both_ways_within_the_workspace_limits(session: live.LiveSession) -> None:
    term, screen = shell(session)
    assert "server.py" in run(term, screen, "ls; echo =''=", "==\r\n")
    term.put("notes/todo.txt", b"from the editor\n")
    assert "from the editor" in run(term, screen, "cat notes/todo.txt; echo =''=", "==\r\n")
    run(term, screen, "printf 'from the shell' > made.txt; echo =''=", "==\r\n")
    names = {path for path, _size, _sha in term.files()}
    assert {"server.py", "notes/todo.txt", "made.txt"} <= names
    assert term.read("made.txt") == b"from the shell"
    term.delete("made.txt")
    assert "gone" in run(term, screen, "test -e made.txt || echo go''ne", "gone\r\n")
    with pytest.raises(SandboxError):
        term.put("../outside.txt", b"x")
    # The workspace is the shell's own tmpfs of the session's disk limit (16 MB).
    out = run(term, screen, "head -c 40000000 /dev/zero > big; echo sta''tus=$?", "status=1")
    assert "No space left" in out


def test_ctrl_c_interrupts_and_resize_reaches_the_pty(session: live.LiveSession) -> None:
    term, screen = shell(session)
    term.resize(31, 101)
    assert "31 101" in run(term, screen, "stty size", "31 101")
    # Printed by the foreground child itself: once it shows, Ctrl-C reaches the sleep (a
    # ^C while bash is still handing the terminal to a child can be lost, as in any shell).
    run(
        term,
        screen,
        "sh -c 'echo sleep''ing; exec sleep 300'; echo not-interrupted",
        "sleeping\r\n",
    )
    start = len(screen.data)
    term.write(b"\x03")
    screen.wait("$ ", start)  # the prompt again: the 300 s sleep was interrupted
    assert b"\nnot-interrupted" not in screen.data


def test_no_network_but_the_loopback_and_no_way_to_the_bridge(session: live.LiveSession) -> None:
    term, screen = shell(session)
    probe = (
        "python3 -c \"import socket\ntry: socket.create_connection(('1.1.1.1', 80), 3)\n"
        "except OSError as e: print('refused', e.errno)\""
    )
    assert "refused" in run(term, screen, probe, "\rrefused")
    assert "no-live" in run(term, screen, "test -e /live || echo no-''live", "no-live\r\n")
    assert "no-docker" in run(
        term, screen, "test -e /var/run/docker.sock || echo no-''docker", "no-docker\r\n"
    )


def test_an_output_flood_is_slowed_and_ctrl_c_still_stops_it(session: live.LiveSession) -> None:
    term, screen = shell(session)
    start = len(screen.data)
    term.write(b"yes flood-flood-flood\r")
    screen.wait("flood-flood-flood\r\nflood", start)
    began = term.bytes_out
    done = threading.Event()
    threading.Timer(2.0, done.set).start()
    done.wait()
    # The host took no more than the rate allows (plus one burst and one read in flight).
    taken = term.bytes_out - began
    assert taken <= 2.5 * terminal.OUTPUT_BYTES_PER_SECOND + terminal.OUTPUT_BURST + 65536
    term.write(b"\x03")
    assert "after-flood" in run(term, screen, "echo after''-flood", "after-flood")
    assert client(session).get("/still").text == "v1 /still"


def test_a_fork_bomb_and_kill_minus_one_stay_inside_and_a_new_shell_follows(
    session: live.LiveSession,
    backend: str,  # noqa: F811 - the imported fixture
) -> None:
    term, screen = shell(session)
    start = len(screen.data)
    term.write(b"bomb() { bomb | bomb & }; bomb\r")
    screen.wait("bomb", start)
    assert client(session).get("/during").text == "v1 /during"
    term.write(b"\rkill -9 -1\r")
    reason = screen.wait_exit()
    assert "exited" in reason or "stopped" in reason or "killed" in reason
    assert term.exited.is_set()
    with pytest.raises(SandboxError):
        term.write(b"ls\r")
    # The app never noticed; the next terminal is a fresh shell that works.
    assert client(session).get("/after").text == "v1 /after"
    again, screen2 = shell(session)
    assert again is not term
    assert "42" in run(again, screen2, 'python3 -c "print(6*7)" | sed s/^/=/', "=42")


def test_a_killed_harness_leaves_no_shell_behind(backend: str) -> None:  # noqa: F811
    run_id, pid = kill_harness(backend, r'session.open_terminal().write(b"sleep 600 &\r")')
    assert left_behind(backend, run_id, pid, sweep=False) == []
    assert sandbox.get_backend(backend).leftovers(run_id) == []
