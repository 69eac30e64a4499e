"""The bwrap half of a live session (sandbox/live.py).

The run's network namespace is held by a descriptor for the whole session, so the
sidecar keeps its loopback while the app is started again and again. Each start of
the app is a fresh party (its own scratch tmpfs with the new files, its own cgroups),
made exactly as a grading run's app is. The bridge's directory is a folder of the
sidecar's scratch tmpfs, bound at /live in the sidecar only.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox import scratch
from sandbox.backends.base import app_host_uid, new_run_id, party_env
from sandbox.backends.bwrap import BwrapParty
from sandbox.config import APP_DIR, TESTER_DIR, TESTER_UID
from sandbox.live import LIVE_CPU_SHARES, LIVE_DIR, LiveSpec, bridge_command
from sandbox.netns import new_loopback_netns
from sandbox.spec import Files, SandboxError
from sandbox.terminal import SOCKET, TERM_DIR, shell_command

if TYPE_CHECKING:
    from sandbox.backends.bwrap import BwrapBackend, _Running


def _describe(exit_code: int | None, oom: bool, limit_mb: int) -> str:
    if oom:
        return f"was killed: it used more than its {limit_mb} MB of memory"
    if exit_code is None:
        return "was killed"
    if exit_code > 128:
        return f"was killed by signal {exit_code - 128}"
    return f"exited with status {exit_code}"


class _Process:
    """A started party and the thread that reads its output until it exits."""

    def __init__(
        self,
        backend: BwrapBackend,
        party: _Running,
        cleanups: list[object],
        limit_mb: int,
        on_output: Callable[[str, str], None],
        on_exit: Callable[[], None],
    ) -> None:
        self.exited = threading.Event()
        self._backend, self._party, self._cleanups = backend, party, cleanups
        self._limit_mb = limit_mb
        self._reason = ""
        self._on_exit = on_exit
        # No bytes kept (cap 0): every line goes to the session's ring instead.
        for capture, stream in ((party.stdout, "stdout"), (party.stderr, "stderr")):
            capture.cap = 0
            capture.on_line = lambda line, stream=stream: on_output(stream, line)
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="faultline-live-app", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        party = self._party
        try:
            with selectors.DefaultSelector() as sel:
                for fd in party.streams:
                    sel.register(fd, selectors.EVENT_READ, party)
                sel.register(party.pidfd, selectors.EVENT_READ, None)
                exited = False
                while not exited:
                    for key, _ in sel.select():
                        if key.data is None:
                            exited = True
                        else:
                            self._backend._read(key.data, key.fd, sel)
            self._backend._drain([party], timeout=1.0)
            try:
                result = self._backend._finish(party)
                self._reason = _describe(result.exit_code, result.oom_killed, self._limit_mb)
            except SandboxError as exc:
                self._reason = f"could not be started: {exc}"
        finally:
            party.close_fds()
            with contextlib.suppress(OSError, SandboxError):
                _remove(self._cleanups)
            self.exited.set()
            self._on_exit()

    def exit_reason(self) -> str:
        return self._reason or "exited"

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self._backend._stop(self._party)
        self._thread.join()


class _Shell(_Process):
    def __init__(
        self,
        backend: BwrapBackend,
        party: _Running,
        cleanups: list[object],
        limit_mb: int,
        socket_path: Path,
    ) -> None:
        self.socket_path = socket_path
        self.log: list[str] = []
        super().__init__(backend, party, cleanups, limit_mb, self._line, lambda: None)

    def _line(self, _stream: str, line: str) -> None:
        self.log = [*self.log[-19:], line]


def _remove(cleanups: list[object]) -> None:
    from sandbox.backends.bwrap import _remove_all

    _remove_all(cleanups)


class BwrapLivePair:
    def __init__(self, backend: BwrapBackend, spec: LiveSpec) -> None:
        backend._require()
        self.run_id = new_run_id()
        self._backend, self._spec = backend, spec
        self._owner = f"{os.getpid()}-{self.run_id}"
        self._uid = app_host_uid()
        self._cleanups: list[object] = []
        self._closed = False
        self._app_lock = threading.Lock()
        self.sidecar_exited = threading.Event()
        scratch.prepare_base(backend.config.scratch_dir)
        self._netns: int | None = new_loopback_netns()
        try:
            space, home, binds = backend._tester_space(
                self._owner, "sidecar", spec.limits, self._cleanups
            )
            self.socket_dir: Path = space.make_dir("live", TESTER_UID, 0o700)
            space.write_files(home, spec.sidecar.files, TESTER_UID)
            sidecar = BwrapParty(
                who="sidecar",
                command=bridge_command(spec),
                env=party_env(spec.sidecar.env, {"FAULTLINE_LIVE_DIR": LIVE_DIR}),
                uid=TESTER_UID,
                binds=[*binds, (self.socket_dir, LIVE_DIR)],
                chdir=TESTER_DIR,
                netns_fd=self._netns,
            )
            party = backend._start(self._owner, sidecar, spec.limits, self._cleanups)
            party.cgroup.set_cpu_weight(LIVE_CPU_SHARES)
        except BaseException:
            self.close()
            raise
        self.sidecar_log: list[str] = []
        self._sidecar = _Process(
            backend,
            party,
            [],  # removed with the session (close), not when it exits
            spec.limits.memory_mb,
            lambda _stream, line: self._sidecar_line(line),
            self.sidecar_exited.set,
        )

    def _sidecar_line(self, line: str) -> None:
        self.sidecar_log = [*self.sidecar_log[-49:], line]

    def sidecar_reason(self) -> str:
        tail = "; ".join(self.sidecar_log[-3:])
        return self._sidecar.exit_reason() + (f" ({tail})" if tail else "")

    def start_app(
        self, files: Files, on_output: Callable[[str, str], None], on_exit: Callable[[], None]
    ) -> _Process:
        with self._app_lock:
            party, cleanups, _ = self._start_party("app", list(self._spec.app.command), files)
            limit_mb = self._spec.limits.memory_mb
            return _Process(self._backend, party, cleanups, limit_mb, on_output, on_exit)

    def start_shell(self, files: Files) -> _Shell:
        """The session's terminal: a shell party beside the app (its uid, limits and
        loopback), its own workspace with `files` and a folder for its socket."""
        with self._app_lock:
            party, cleanups, term = self._start_party("shell", shell_command(APP_DIR), files)
            assert term is not None
            limit_mb = self._spec.limits.memory_mb
            return _Shell(self._backend, party, cleanups, limit_mb, term / SOCKET)

    def _start_party(
        self, who: str, command: list[str], files: Files
    ) -> tuple[_Running, list[object], Path | None]:
        """A party made as a grading run's app is, in the session's network namespace;
        a shell also gets its socket's folder (returned)."""
        spec, backend = self._spec, self._backend
        if self._closed or self._netns is None:
            raise SandboxError("the live session is closed")
        cleanups: list[object] = []
        term = None
        try:
            space, app_dir, binds = backend._app_space(
                self._owner, spec.limits, cleanups, self._uid, who
            )
            if who == "shell":
                term = space.make_dir("term", self._uid, 0o700)
                binds.append((term, TERM_DIR))
            space.write_files(app_dir, files, self._uid)
            candidate = BwrapParty(
                who=who,
                command=command,
                env=party_env(spec.app.env),
                uid=self._uid,
                binds=binds,
                chdir=APP_DIR,
                netns_fd=self._netns,
            )
            party = backend._start(self._owner, candidate, spec.limits, cleanups)
        except BaseException:
            _remove(cleanups)
            raise
        with contextlib.suppress(OSError):  # it may have exited already
            party.cgroup.set_cpu_weight(LIVE_CPU_SHARES)
        return party, cleanups, term

    def close(self) -> None:
        with self._app_lock:
            if self._closed:
                return
            self._closed = True
        sidecar = getattr(self, "_sidecar", None)
        if sidecar is not None:
            sidecar.kill()
        if self._netns is not None:
            os.close(self._netns)
            self._netns = None
        _remove(self._cleanups)


__all__ = ["BwrapLivePair"]
