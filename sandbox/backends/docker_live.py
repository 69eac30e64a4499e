"""The Docker half of a live session (sandbox/live.py).

The sidecar's container owns the session's network namespace (network_mode "none":
a loopback only) and every start of the app is a new container that joins it, so
the app can be replaced while the fake provider keeps running; the next app's
container is made and started while the current one runs (it waits in docker_entry
for its files and command), so a restart only sends it its run. The bridge's
directory is a host directory (config.live_dir) bound at /live into the sidecar
only: the web process reaches the app through a unix socket there, which needs the
engine on the same host (docs/live.md says how to place it).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import docker.errors
import requests.exceptions
from docker.types import Mount

from sandbox import live_dirs
from sandbox.backends.base import app_host_uid, new_run_id
from sandbox.config import APP_DIR, TESTER_DIR, TESTER_UID
from sandbox.live import LIVE_CPU_SHARES, LIVE_DIR, LiveSpec, bridge_command
from sandbox.spec import Files, Party, SandboxError
from sandbox.terminal import SOCKET, TERM_DIR, shell_command

if TYPE_CHECKING:
    import docker as docker_sdk

    from sandbox.backends.docker_engine import DockerBackend, _Running

_ENGINE_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException)


def _describe(state: dict[str, Any], killed: bool, limit_mb: int) -> str:
    if state.get("OOMKilled"):
        return f"was killed: it used more than its {limit_mb} MB of memory"
    code = state.get("ExitCode")
    if killed or code is None:
        return "was killed"
    if code == 137:
        return "was killed (signal 9)"
    if code == 125:
        return "could not be started (exit 125)"
    return f"exited with status {code}"


class _Container:
    """A started container and a thread that waits for it to exit."""

    def __init__(
        self,
        backend: DockerBackend,
        client: docker_sdk.DockerClient,
        party: _Running,
        limit_mb: int,
        on_output: Callable[[str, str], None],
        on_exit: Callable[[], None],
    ) -> None:
        self.exited = threading.Event()
        self._backend, self._client, self._party = backend, client, party
        self._limit_mb = limit_mb
        self._on_exit = on_exit
        self._killed = False
        self._reason = ""
        for capture, stream in ((party.stdout, "stdout"), (party.stderr, "stderr")):
            capture.cap = 0
            capture.on_line = lambda line, stream=stream: on_output(stream, line)
        self._thread = threading.Thread(target=self._watch, name="faultline-live-ctr", daemon=True)
        self._thread.start()

    @property
    def container_id(self) -> str:
        return self._party.container_id

    def _watch(self) -> None:
        cid = self._party.container_id
        try:
            while True:
                try:
                    self._client.api.wait(cid, timeout=60)
                    break
                except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                    continue
                except docker.errors.NotFound:
                    break
            try:
                state = self._client.api.inspect_container(cid)["State"]
            except _ENGINE_ERRORS:
                state = {}
            self._reason = _describe(state, self._killed, self._limit_mb)
            self._party.thread.join(timeout=2)
        except _ENGINE_ERRORS as exc:
            self._reason = f"was lost: Docker engine error: {exc}"
        finally:
            self._party.close()
            self.exited.set()
            self._on_exit()

    def exit_reason(self) -> str:
        return self._reason or "exited"

    def kill(self) -> None:
        if not self.exited.is_set():
            self._killed = True
            with contextlib.suppress(*_ENGINE_ERRORS):
                self._client.api.kill(self._party.container_id)
        self._thread.join()
        remove = self._backend._remove
        self._backend._teardown.later(lambda: remove(self._client, self._party.container_id))


class _Shell(_Container):
    def __init__(
        self,
        backend: DockerBackend,
        client: docker_sdk.DockerClient,
        party: _Running,
        limit_mb: int,
        socket_path: Path,
    ) -> None:
        self.socket_path = socket_path
        self.log: list[str] = []
        super().__init__(backend, client, party, limit_mb, self._line, lambda: None)

    def _line(self, _stream: str, line: str) -> None:
        self.log = [*self.log[-19:], line]


class DockerLivePair:
    def __init__(self, backend: DockerBackend, spec: LiveSpec) -> None:
        self._client = client = backend._require()
        self.run_id = new_run_id()
        self._backend, self._spec = backend, spec
        self._uid = app_host_uid()
        self._created: list[str] = []
        self._closed = False
        self._lock = threading.Lock()
        self.sidecar_exited = threading.Event()
        self.sidecar_log: list[str] = []
        self.socket_dir: Path = live_dirs.make(
            backend.config.live_dir, f"{os.getpid()}-{self.run_id}", TESTER_UID
        )
        self._sidecar: _Container | None = None
        self._spare: _Running | None = None
        self._refills: list[threading.Thread] = []
        self._shells = 0
        self._term_dirs: list[Path] = []
        try:
            bind = Mount(LIVE_DIR, str(self.socket_dir), type="bind")
            sid = backend._create(
                client, self.run_id, "sidecar", TESTER_UID, TESTER_DIR, spec.limits, "none",
                self._created, binds=(bind,), cpu_shares=LIVE_CPU_SHARES,
            )  # fmt: skip
            self._sidecar_id = sid
            party = backend._launch(client, sid, spec.limits, None)
            self._sidecar = _Container(
                backend,
                client,
                party,
                spec.limits.memory_mb,
                lambda _stream, line: self._sidecar_line(line),
                self.sidecar_exited.set,
            )
            sidecar = Party(
                bridge_command(spec),
                spec.sidecar.files,
                {**spec.sidecar.env, "FAULTLINE_LIVE_DIR": LIVE_DIR},
            )
            party.send(backend._request(sidecar, spec.limits, TESTER_DIR))
        except BaseException as exc:
            self.close()
            if isinstance(exc, _ENGINE_ERRORS):
                raise SandboxError(f"Docker engine error: {exc}") from exc
            raise

    def _sidecar_line(self, line: str) -> None:
        self.sidecar_log = [*self.sidecar_log[-49:], line]

    def sidecar_reason(self) -> str:
        tail = "; ".join(self.sidecar_log[-3:])
        reason = self._sidecar.exit_reason() if self._sidecar else "did not start"
        return reason + (f" ({tail})" if tail else "")

    def _app_container(self) -> _Running:
        """A started app container of the session, waiting in docker_entry for its run."""
        spec, backend, client = self._spec, self._backend, self._client
        try:
            cid = backend._create(
                client, self.run_id, "app", self._uid, APP_DIR, spec.limits,
                f"container:{self._sidecar_id}", self._created, cpu_shares=LIVE_CPU_SHARES,
            )  # fmt: skip
            return backend._launch(client, cid, spec.limits, None)
        except _ENGINE_ERRORS as exc:
            raise SandboxError(f"Docker engine error: {exc}") from exc

    def _refill(self) -> None:
        # The next start of the app takes this one: creating and starting a container
        # is a good part of a restart's time on a save, and it needs nothing of the files.
        try:
            spare = self._app_container()
        except SandboxError:
            return  # the next start makes its own
        with self._lock:
            if not self._closed and self._spare is None:
                self._spare = spare
                return
        spare.close()
        self._backend._remove(self._client, spare.container_id)

    def start_app(
        self, files: Files, on_output: Callable[[str, str], None], on_exit: Callable[[], None]
    ) -> _Container:
        spec, backend, client = self._spec, self._backend, self._client
        with self._lock:
            if self._closed:
                raise SandboxError("the live session is closed")
            party, self._spare = self._spare, None
            if party is None:
                party = self._app_container()
            container = _Container(
                backend, client, party, spec.limits.memory_mb, on_output, on_exit
            )
            app = Party(list(spec.app.command), files, spec.app.env)
            party.send(backend._request(app, spec.limits, APP_DIR))
        return container

    def prepare_next(self) -> None:
        """Make the next start's container now (the app runs: making it meanwhile would
        slow the start it is not for)."""
        with self._lock:
            if self._closed or self._spare is not None:
                return
            refill = threading.Thread(target=self._refill, name="faultline-live-spare",
                                      daemon=True)  # fmt: skip
            self._refills = [t for t in self._refills if t.is_alive()] + [refill]
        refill.start()

    def start_shell(self, files: Files) -> _Shell:
        """The session's terminal: a container beside the app (its uid, limits and
        loopback), its own workspace with `files` and a host folder for its socket."""
        spec, backend, client = self._spec, self._backend, self._client
        with self._lock:
            if self._closed:
                raise SandboxError("the live session is closed")
            self._shells += 1
            term = live_dirs.make(
                backend.config.live_dir, f"{os.getpid()}-{self.run_id}-t{self._shells}", self._uid
            )
            self._term_dirs.append(term)
            try:
                cid = backend._create(
                    client, self.run_id, "shell", self._uid, APP_DIR, spec.limits,
                    f"container:{self._sidecar_id}", self._created,
                    binds=(Mount(TERM_DIR, str(term), type="bind"),), cpu_shares=LIVE_CPU_SHARES,
                )  # fmt: skip
                party = backend._launch(client, cid, spec.limits, None)
            except _ENGINE_ERRORS as exc:
                raise SandboxError(f"Docker engine error: {exc}") from exc
            shell = _Shell(backend, client, party, spec.limits.memory_mb, term / SOCKET)
            party.send(backend._request(Party(shell_command(APP_DIR), files, spec.app.env),
                                        spec.limits, APP_DIR))  # fmt: skip
            return shell

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            spare, self._spare = self._spare, None
        for refill in self._refills:  # one under way removes what it made (closed)
            refill.join()
        if spare is not None:
            spare.close()
        if self._sidecar is not None:
            self._sidecar.kill()
        for cid in self._created:
            self._backend._remove(self._client, cid)
        self._backend._teardown.wait()
        live_dirs.remove(self.socket_dir)
        for term in self._term_dirs:
            live_dirs.remove(term)


__all__ = ["DockerLivePair"]
