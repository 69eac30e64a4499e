"""Live sessions: a candidate's app kept running beside a sidecar, for an interview's preview.

    session = sandbox.live.start(LiveSpec(app=Party(...), sidecar=Party(...), app_port=8000))
    session.app_socket          # host path: a unix socket relayed to the app's port inside
    session.socket("control.sock")   # one the sidecar made in $FAULTLINE_LIVE_DIR
    session.restart(files)      # the app again, with new files (callers debounce saves)
    session.logs.since(seq)     # the app's stdout/stderr, a bounded ring of lines
    session.open_terminal()     # a shell beside the app (sandbox/terminal.py)
    session.stop()

The two parties are those of a grading run (sandbox/spec.py): the app (the candidate's
files, a fresh unprivileged uid) and the sidecar (the fake provider, as the tester's
uid) share only a private loopback, with the same limits, on either backend. The
sidecar's first process is the bridge (live_bridge.py): the only way in from the host
is unix sockets in a directory that only the sidecar sees, so the sandbox needs no
network but its loopback (never a bridge network) and the app cannot reach what the
sidecar serves there (the fault switchboard).

A supervisor thread per session starts the app, waits until it answers on its health
path, notices when it exits and retries with backoff; it says why in the log and in
events ("did not answer on /healthz within 20 s", "exited with status 1"). A session
owns host resources named like a run's (cgroups, scratch, containers with the owner
pid), so the reaper and the start-up sweep remove a session whose harness died.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sandbox.inputs import check_spec
from sandbox.spec import Files, Limits, Party, RunSpec, SandboxError
from sandbox.terminal import ShellHandle, Terminal

# Where the sidecar finds the host-visible directory (its env FAULTLINE_LIVE_DIR).
LIVE_DIR = "/live"
APP_SOCKET = "app.sock"
# CPU weight of a live session's parties against a grading run's (1024, the kernel's and
# the engine's default): when the host is busy, gradings get four times their share.
LIVE_CPU_SHARES = 256
# A line longer than this is cut (the ring holds lines, not floods).
MAX_LINE_CHARS = 2000
HEALTH_POLL_SECONDS = 0.02


@dataclass(frozen=True)
class LiveSpec:
    """What a live session runs. `limits` hold each party, as in a grading run;
    `wall_seconds` is the longest the whole session lives."""

    app: Party
    sidecar: Party
    app_port: int
    health: str = "/healthz"
    start_timeout: float = 20.0
    limits: Limits = field(
        default_factory=lambda: Limits(wall_seconds=4 * 3600, cpu_seconds=4 * 3600)
    )
    log_lines: int = 1000
    # Sockets the sidecar makes in $FAULTLINE_LIVE_DIR: the app starts once they accept.
    sidecar_sockets: tuple[str, ...] = ()
    sidecar_timeout: float = 30.0
    # Waits before each retry of an app that crashed or never answered; then it stays
    # down until new files come (a restart).
    retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)


@dataclass(frozen=True)
class LogLine:
    seq: int
    at: float  # time.time()
    stream: str  # stdout | stderr | faultline (the supervisor's own notes)
    text: str
    generation: int  # which start of the app wrote it


@dataclass(frozen=True)
class LiveEvent:
    """A change of the app's state: starting, running, crashed, failed, retrying,
    gave-up, stopped. `detail` is the plain-words reason shown to people."""

    kind: str
    generation: int
    detail: str
    at: float


@dataclass(frozen=True)
class LiveStatus:
    state: str  # starting | running | crashed | failed | gave-up | stopped
    generation: int
    detail: str
    since: float


class LogRing:
    """The last `size` lines, numbered, with a wait for new ones (follow)."""

    def __init__(self, size: int) -> None:
        self._lines: deque[LogLine] = deque(maxlen=size)
        self._seq = 0
        self._cond = threading.Condition()

    def add(self, stream: str, text: str, generation: int) -> None:
        if len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS] + " [...]"
        with self._cond:
            self._seq += 1
            self._lines.append(LogLine(self._seq, time.time(), stream, text, generation))
            self._cond.notify_all()

    def since(self, seq: int = 0) -> list[LogLine]:
        with self._cond:
            return [line for line in self._lines if line.seq > seq]

    def wait(self, seq: int, timeout: float) -> list[LogLine]:
        """Lines after `seq`, waiting up to `timeout` for the first one."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq > seq, timeout)
        return self.since(seq)

    def wait_for(self, predicate: Callable[[LogLine], bool], timeout: float) -> list[LogLine]:
        """The lines that match `predicate`, waiting up to `timeout` for one to come."""
        with self._cond:
            self._cond.wait_for(lambda: any(map(predicate, self._lines)), timeout)
            return [line for line in self._lines if predicate(line)]

    def tail(self, n: int, generation: int | None = None) -> list[str]:
        with self._cond:
            lines = [ln for ln in self._lines if generation is None or ln.generation == generation]
        return [ln.text for ln in lines[-n:]]


class AppHandle(Protocol):
    """One start of the app (a process tree or a container)."""

    exited: threading.Event

    def exit_reason(self) -> str:
        """After `exited`: "exited with status 1", "was killed: out of memory"..."""
        ...

    def kill(self) -> None:
        """Kill it and remove what it had; returns once that is done (idempotent)."""
        ...


class LivePair(Protocol):
    """A backend's half of a session: the sidecar running, apps started on demand."""

    run_id: str
    socket_dir: Path  # host path of the bridge's directory
    sidecar_exited: threading.Event

    def start_app(
        self,
        files: Files,
        on_output: Callable[[str, str], None],
        on_exit: Callable[[], None],
    ) -> AppHandle:
        """Start the app with `files`; `on_output(stream, line)` for each line it writes,
        `on_exit()` once it has exited (from another thread)."""
        ...

    def sidecar_reason(self) -> str: ...

    def start_shell(self, files: Files) -> ShellHandle:
        """Start the terminal's shell party with `files` in its workspace."""
        ...

    def close(self) -> None:
        """Remove everything of the session (idempotent)."""
        ...


def bridge_command(spec: LiveSpec) -> list[str]:
    """The sidecar party's command: the bridge, then the sidecar's own command."""
    source = (Path(__file__).resolve().parent / "live_bridge.py").read_text()
    return [
        "python3", "-I", "-S", "-c", source,
        LIVE_DIR, f"{APP_SOCKET}={spec.app_port}", "--", *spec.sidecar.command,
    ]  # fmt: skip


def check_live_spec(spec: LiveSpec) -> None:
    """InputRejected unless both parties are what a run would accept."""
    check_spec(RunSpec(app=spec.app, tester=spec.sidecar, limits=spec.limits))
    if not 0 < spec.app_port < 65536:
        raise SandboxError(f"app_port {spec.app_port} is not a port")


def http_status(path: Path, target: str, timeout: float = 1.0) -> int | None:
    """The status of GET `target` over the unix socket `path`, None if nothing answers."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
            sock.sendall(f"GET {target} HTTP/1.0\r\nHost: app\r\n\r\n".encode())
            head = b""
            while b"\r\n" not in head and len(head) < 1024:
                chunk = sock.recv(1024)
                if not chunk:
                    break
                head += chunk
        except OSError:
            return None
    parts = head.split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


class LiveSession:
    def __init__(
        self,
        spec: LiveSpec,
        make_pair: Callable[[], LivePair],
        on_event: Callable[[LiveEvent], None] | None = None,
    ) -> None:
        self.spec = spec
        self.backend = ""
        self._on_event = on_event
        self.logs = LogRing(spec.log_lines)
        self._cond = threading.Condition()
        self._files: Files = dict(spec.app.files)
        self._start_timeout = spec.start_timeout
        self._pending: Files | None = self._files  # the first start
        self._stopping = False
        self._stop_reason = "stopped"
        self._generation = 0
        # Why the last start failed, until the app runs or new files come: the state
        # says it while the app is retried and once it gave up, not only for the retry's wait.
        self._failure = ""
        self._status = LiveStatus("starting", 0, "starting the app", time.time())
        self._started = time.monotonic()
        self._terminal: Terminal | None = None
        self._term_lock = threading.Lock()
        # The sandbox is made by the supervisor thread, which lives as long as the session:
        # a bwrap party dies with the thread that started it (--die-with-parent), and the
        # caller's may be a request's thread that ends at once.
        made: list[BaseException] = []
        self._pair: LivePair
        ready = threading.Event()

        def run() -> None:
            try:
                self._pair = make_pair()
            except BaseException as exc:
                made.append(exc)
                ready.set()
                return
            ready.set()
            self._supervise()

        self._thread = threading.Thread(target=run, name="faultline-live", daemon=True)
        self._thread.start()
        ready.wait()
        if made:
            raise made[0]

    @property
    def run_id(self) -> str:
        return self._pair.run_id

    @property
    def app_socket(self) -> Path:
        return self._pair.socket_dir / APP_SOCKET

    def socket(self, name: str) -> Path:
        """A socket the sidecar made in its $FAULTLINE_LIVE_DIR (e.g. its control API)."""
        return self._pair.socket_dir / name

    def status(self) -> LiveStatus:
        with self._cond:
            return self._status

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def restart(self, files: Files | None = None, *, start_timeout: float | None = None) -> int:
        """Start the app again (with `files`, else the last ones); returns the generation
        that will run them. A newer call while one starts supersedes it. `start_timeout`:
        how long its health check may take from now on (default: the spec's)."""
        if start_timeout is not None:
            self._start_timeout = start_timeout
        if files is not None:
            check_spec(RunSpec(app=Party(self.spec.app.command, files), limits=self.spec.limits))
        with self._cond:
            if self._stopping:
                raise SandboxError("the live session is stopped")
            self._pending = dict(files) if files is not None else self._files
            self._cond.notify_all()
            return self._generation + 1

    def wait_settled(self, generation: int | None = None, timeout: float = 30.0) -> LiveStatus:
        """Wait until start `generation` (default: the next or current one) is running,
        or failed to; return the status then (or at `timeout`)."""
        with self._cond:
            target = generation if generation is not None else max(self._generation, 1)
            self._cond.wait_for(
                lambda: (
                    (
                        self._status.generation >= target
                        and self._status.state != "starting"
                        and self._pending is None
                    )
                    or self._status.state == "stopped"
                ),
                timeout,
            )
            return self._status

    def wait_for(self, predicate: Callable[[LiveStatus], bool], timeout: float) -> LiveStatus:
        """Wait until the status satisfies `predicate` (or `timeout`); return it."""
        with self._cond:
            self._cond.wait_for(lambda: predicate(self._status), timeout)
            return self._status

    def terminal(self) -> Terminal | None:
        """The running terminal, if there is one."""
        with self._cond:
            term = self._terminal
        return term if term is not None and not term.exited.is_set() else None

    def open_terminal(
        self,
        files: Files | None = None,
        on_output: Callable[[bytes], None] | None = None,
        on_exit: Callable[[str], None] | None = None,
    ) -> Terminal:
        """The session's terminal: the running one, else a new shell with `files` (default:
        the app's last ones). One at a time; it ends with the session."""
        with self._term_lock:
            term = self.terminal()
            if term is not None:
                return term
            with self._cond:
                if self._stopping or not self.alive:
                    raise SandboxError("the live session is stopped")
            files = dict(self._files if files is None else files)
            check_spec(RunSpec(app=Party(self.spec.app.command, files), limits=self.spec.limits))
            term = Terminal(self._start_shell(files), on_output, on_exit)
            with self._cond:
                self._terminal = term
                stopping = self._stopping
            if stopping:  # stopped while it started: it goes with the rest
                term.close()
                raise SandboxError("the live session is stopped")
            return term

    def _start_shell(self, files: Files) -> ShellHandle:
        # Started by a thread that lives as long as the shell: a bwrap party dies with
        # the thread that started it, and the caller's may end at once.
        made: list[ShellHandle | BaseException] = []
        ready = threading.Event()

        def run() -> None:
            try:
                handle = self._pair.start_shell(files)
            except BaseException as exc:
                made.append(exc)
                ready.set()
                return
            made.append(handle)
            ready.set()
            handle.exited.wait()

        threading.Thread(target=run, name="faultline-shell", daemon=True).start()
        ready.wait()
        if isinstance(made[0], BaseException):
            raise made[0]
        return made[0]

    def stop(self, reason: str = "stopped") -> None:
        """Stop the app and the sidecar and remove everything (idempotent)."""
        with self._cond:
            if not self._stopping:
                self._stopping = True
                self._stop_reason = reason
            self._cond.notify_all()
            term, self._terminal = self._terminal, None
        if term is not None:
            term.close()
        if threading.current_thread() is not self._thread:
            self._thread.join()
        self._pair.close()

    # -- the supervisor thread ------------------------------------------------

    def _note(self, text: str, generation: int) -> None:
        self.logs.add("faultline", text, generation)

    def _set(self, state: str, detail: str, event: str | None = None) -> None:
        with self._cond:
            self._status = LiveStatus(state, self._generation, detail, time.time())
            self._cond.notify_all()
        kind = event or state
        if self._on_event is not None:
            with contextlib.suppress(Exception):  # a listener never breaks the session
                self._on_event(LiveEvent(kind, self._generation, detail, time.time()))

    def _deadline_left(self) -> float:
        return self.spec.limits.wall_seconds - (time.monotonic() - self._started)

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _wait(self, until: Callable[[], bool], timeout: float) -> None:
        # At most a second at a time: the sidecar's exit is noticed by looking.
        timeout = min(timeout, 1.0)
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    self._stopping
                    or self._pending is not None
                    or self._pair.sidecar_exited.is_set()
                    or until()
                ),
                timeout,
            )

    def _supervise(self) -> None:
        handle: AppHandle | None = None
        attempt = 0
        want_start = False
        try:
            self._wait_for_sidecar()
            while True:
                with self._cond:
                    stopping = self._stopping
                    pending, self._pending = self._pending, None
                if stopping:
                    return
                if self._pair.sidecar_exited.is_set():
                    self._stop_reason = f"the fake provider stopped: {self._pair.sidecar_reason()}"
                    return
                if self._deadline_left() <= 0:
                    self._stop_reason = (
                        f"the session reached its {self.spec.limits.wall_seconds:g} s limit"
                    )
                    return
                if pending is not None:
                    self._files = pending
                    attempt = 0
                    self._failure = ""
                    want_start = True
                elif handle is not None and handle.exited.is_set():
                    reason = handle.exit_reason()
                    tail = self.logs.tail(5, self._generation)
                    self._note(f"the app {reason}", self._generation)
                    self._failure = f"the app {reason}" + _last_lines(tail)
                    self._set("crashed", self._failure)
                    handle.kill()
                    handle = None
                    attempt += 1
                    want_start = self._retry_after(attempt)
                    continue
                elif not want_start:
                    # Running, or down until new files come: sleep until something happens.
                    exited = handle.exited if handle is not None else threading.Event()
                    self._wait(exited.is_set, max(self._deadline_left(), 0.0))
                    continue
                if handle is not None:
                    handle.kill()
                handle = self._start_app(attempt)
                want_start = False
                if handle is None:
                    attempt += 1
                    want_start = self._retry_after(attempt)
        except Exception as exc:  # the session is broken: say so, then clean up
            self._stop_reason = f"the live session failed: {exc}"
        finally:
            if handle is not None:
                handle.kill()
            self._set("stopped", self._stop_reason)

    def _wait_for_sidecar(self) -> None:
        deadline = time.monotonic() + self.spec.sidecar_timeout
        for name in self.spec.sidecar_sockets:
            path = self.socket(name)
            while not _accepts(path):
                if self._pair.sidecar_exited.is_set():
                    raise SandboxError(f"the sidecar stopped: {self._pair.sidecar_reason()}")
                if time.monotonic() > deadline or self._stopping:
                    raise SandboxError(
                        f"the sidecar made no {name} within {self.spec.sidecar_timeout:g} s"
                    )
                time.sleep(HEALTH_POLL_SECONDS)

    def _retry_after(self, attempt: int) -> bool:
        """Wait before retry `attempt`; False when interrupted or out of retries."""
        delays = self.spec.retry_delays
        if attempt > len(delays):
            detail = (
                f"the app failed {attempt} times in a row; it starts again when a file is saved"
            )
            self._note(detail, self._generation)
            self._set("gave-up", f"{detail}. The last time: {self._failure}")
            return False
        delay = delays[attempt - 1]
        self._note(f"retrying in {delay:g} s (attempt {attempt + 1})", self._generation)
        if self._on_event is not None:
            with contextlib.suppress(Exception):
                self._on_event(
                    LiveEvent("retrying", self._generation, f"retrying in {delay:g} s", time.time())
                )
        until = time.monotonic() + delay
        while (left := until - time.monotonic()) > 0:
            self._wait(lambda: time.monotonic() >= until, left)
            with self._cond:
                if self._pending is not None or self._stopping:
                    return False
            if self._pair.sidecar_exited.is_set():
                return False
        return True

    def _start_app(self, attempt: int = 0) -> AppHandle | None:
        """Start the app and wait for its health check; None when it did not come up.
        `attempt`: how many starts of these files failed before this one."""
        with self._cond:
            self._generation += 1
            generation = self._generation
        if attempt and self._failure:
            self._set("starting", f"starting the app again (attempt {attempt + 1}); "
                                  f"the last time: {self._failure}")  # fmt: skip
        else:
            self._set("starting", "starting the app")
        started = time.monotonic()
        handle = self._pair.start_app(
            self._files,
            lambda stream, line: self.logs.add(stream, line, generation),
            self._wake,
        )
        timeout = self._start_timeout
        while True:
            code = http_status(self.app_socket, self.spec.health)
            if code is not None:
                took = time.monotonic() - started
                self._note(f"the app answered {self.spec.health} ({code}) after {took:.2f} s",
                           generation)  # fmt: skip
                self._failure = ""
                self._set("running", f"answered {self.spec.health} after {took:.2f} s")
                prepare = getattr(self._pair, "prepare_next", None)
                if prepare is not None:  # a backend that makes the next start ahead
                    prepare()
                return handle
            if handle.exited.is_set():
                why = f"{handle.exit_reason()} before it answered on {self.spec.health}"
            elif time.monotonic() - started > timeout:
                why = f"did not answer on {self.spec.health} within {timeout:g} s"
            else:
                with self._cond:
                    superseded = self._pending is not None or self._stopping
                if superseded:
                    handle.kill()
                    return None
                time.sleep(HEALTH_POLL_SECONDS)
                continue
            handle.kill()
            tail = self.logs.tail(5, generation)
            self._note(f"the app {why}", generation)
            self._failure = f"the app {why}" + _last_lines(tail)
            self._set("failed", self._failure)
            return None


def _accepts(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def _last_lines(lines: list[str]) -> str:
    return ("; last lines of its log:\n" + "\n".join(lines)) if lines else ""


def start(
    spec: LiveSpec,
    backend: str | None = None,
    on_event: Callable[[LiveEvent], None] | None = None,
) -> LiveSession:
    """Start a live session on `backend` (default: FAULTLINE_SANDBOX_BACKEND)."""
    import sandbox

    check_live_spec(spec)
    be = sandbox.get_backend(backend)
    session = LiveSession(spec, lambda: be.live_pair(spec), on_event)  # type: ignore[attr-defined]
    session.backend = be.name
    return session
