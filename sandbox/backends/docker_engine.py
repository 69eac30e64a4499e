"""The Docker backend: the `docker` SDK against a real engine (local or remote).

Every container starts sandbox/docker_entry.py, which takes the run (files,
command, environment) on stdin and then becomes the command: no host bind
mounts and no copying through the engine's archive API, so a remote engine
works too and a container can be started before its run is known. The files
land in the party's size-limited tmpfs workspace. The app runs with
network_mode="none"; the tester joins the app's network namespace, so the two
share only loopback. Output is read from the attach stream with a cap (the
engine itself caps nothing; the container log driver is "none" so a flood
cannot fill the engine's disk either). The tester's report is read with
get_archive from its /report volume.

Single-party runs take a pre-started container when one is ready (warm.WarmPool):
made with the last run's limits, of the run's disk limit (a tmpfs cannot be
resized), given the run's memory and pids limits when they differ, used once,
removed.

Every container and volume carries the label faultline.sandbox=1, is removed
after the run, and a stale one (its harness died) is swept on the next start.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import socket
import tarfile
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import docker
import docker.errors
import requests.exceptions
from docker.types import LogConfig, Mount, Ulimit
from docker.utils.socket import demux_adaptor, frames_iter

from sandbox import docker_entry, live_dirs, seccomp
from sandbox.backends.base import OPEN_FILES, app_host_uid, cpu_rlimit, new_run_id, party_env
from sandbox.backends.teardown import Teardown
from sandbox.backends.warm import WarmPool
from sandbox.capture import CappedOutput, LineCallback, drain_frames
from sandbox.config import (
    APP_DIR,
    BUILD_IMAGE_CMD,
    REPORT_DIR,
    REPORT_MAX_BYTES,
    SANDBOX_PATH,
    SANDBOX_TMP,
    TESTER_DIR,
    TESTER_UID,
    SandboxConfig,
)
from sandbox.reaper import ensure_reaper
from sandbox.scratch import parse_report, tmpfs_inodes
from sandbox.spec import (
    BackendStatus,
    Limits,
    Party,
    PartyResult,
    RunResult,
    RunSpec,
    SandboxError,
    SandboxUnavailable,
)

if TYPE_CHECKING:
    from sandbox.backends.docker_live import DockerLivePair
    from sandbox.live import LiveSpec

T = TypeVar("T")
LABEL = "faultline.sandbox"
# Containers older than this are stale whoever owns them (no run lasts that long).
STALE_AFTER_SECONDS = 6 * 3600
# The backstop `timeout` of every command (docker_entry): a container whose
# harness was killed stops by itself even before a sweep removes it.
BACKSTOP_EXTRA_SECONDS = 30
ENTRY = ["python3", "-I", "-S", "-c", Path(docker_entry.__file__).read_text()]
# A pre-started container's RLIMIT_CPU until its run lowers it (a hard limit can
# only be lowered): above any run's (inputs.LIMIT_MAX).
_WARM_CPU_SECONDS = 2**31


@dataclass
class _Running:
    container_id: str
    sock: Any  # the attach socket: the request goes in, the output frames come out
    stdout: CappedOutput
    stderr: CappedOutput
    thread: threading.Thread
    started: float
    deadline: float
    timed_out: bool = False
    killed: bool = False
    ended: float | None = None

    def send(self, request: bytes) -> None:
        """Write the run's request to the container's stdin (see docker_entry)."""
        # A unix socket comes wrapped in a SocketIO, a TLS one bare.
        raw = getattr(self.sock, "_sock", self.sock)
        with contextlib.suppress(OSError):  # it died meanwhile: _finish reports how
            raw.sendall(request)

    def close(self) -> None:
        for sock in (self.sock, getattr(self.sock, "_sock", None)):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()


@dataclass
class _Warm:
    """A started single-party container waiting in docker_entry for its run."""

    run_id: str
    party: _Running
    made: float
    limits: Limits  # what the engine holds it to now


class DockerBackend:
    name: ClassVar[str] = "docker"

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._client: docker.DockerClient | None = None
        self._lock = threading.Lock()
        self._swept = False
        self._runtime_seen = False
        # The limits of the last single-party run: the next pre-started container gets
        # them, so that a run like it needs no update call (an engine round trip).
        self._recent = Limits()
        self._teardown = Teardown()
        # Engine calls made beside a run's own (the tester's container while the app
        # starts, the report while the app stops, removals); none waits on another.
        self._threads = ThreadPoolExecutor(max_workers=16, thread_name_prefix="faultline-docker")
        # A tmpfs cannot be resized: a pre-started container is of the disk limit
        # it was made with (its kind); memory and pids are set when it is taken.
        self._pool: WarmPool[_Warm] = WarmPool(
            config.warm,
            make=self._prestart,
            discard=lambda warm: self._discard(warm.party),
            # Still waiting (not killed from outside), and not so old that another
            # harness's sweep may remove it any moment.
            usable=lambda warm: (
                time.time() - warm.made < STALE_AFTER_SECONDS / 2
                and self._still_running(warm.party.container_id)
            ),
            forget=lambda warm: warm.party.close(),
            name=self.name,
        )

    # -- engine -------------------------------------------------------------

    def _engine(self) -> docker.DockerClient:
        with self._lock:
            if self._client is None:
                try:
                    client = docker.from_env(timeout=60)
                    client.ping()
                except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
                    raise SandboxUnavailable(f"Docker engine not reachable: {exc}") from exc
                self._client = client
            return self._client

    def status(self) -> BackendStatus:
        try:
            client = self._engine()
            client.images.get(self.config.docker_image)
        except SandboxUnavailable as exc:
            return BackendStatus(self.name, False, f"{exc} (start dockerd, or set DOCKER_HOST)")
        except docker.errors.ImageNotFound:
            return BackendStatus(
                self.name,
                False,
                f"image {self.config.docker_image} missing: run `{BUILD_IMAGE_CMD}`",
            )
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            return BackendStatus(self.name, False, f"Docker engine error: {exc}")
        problem = self._runtime_problem(client)
        if problem:
            return BackendStatus(self.name, False, problem)
        runtime = f", runtime {self.config.docker_runtime}" if self.config.docker_runtime else ""
        warm = f"{self._pool.size} pre-started" + (
            f" (last failure: {self._pool.failure})" if self._pool.failure else ""
        )
        detail = (
            f"image {self.config.docker_image}{runtime}, {self.config.cpus:g} CPU per party, {warm}"
        )
        return BackendStatus(self.name, True, detail)

    def _runtime_problem(self, client: docker.DockerClient) -> str | None:
        """Why the configured runtime (e.g. runsc) cannot be used, or None. Once it was
        found, it is not asked for again: the engine's runtimes change with a restart."""
        wanted = self.config.docker_runtime
        if not wanted or self._runtime_seen:
            return None
        try:
            runtimes = sorted(client.info().get("Runtimes") or {})
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            return f"Docker engine error: {exc}"
        if wanted not in runtimes:
            return (
                f"runtime {wanted!r} (FAULTLINE_SANDBOX_DOCKER_RUNTIME) is not registered with the "
                f"engine, which has {', '.join(runtimes) or 'none'}: install it and add it to "
                "dockerd (--add-runtime or daemon.json), or unset the variable"
            )
        self._runtime_seen = True
        return None

    def _require(self) -> docker.DockerClient:
        st = self.status()
        if not st.available:
            raise SandboxUnavailable(f"docker backend unavailable: {st.detail}")
        client = self._engine()
        ensure_reaper(self.name)
        if not self._swept:
            self._swept = True
            self.sweep()
        return client

    def prestarted(self) -> list[str]:
        """Run ids of the pre-started single-party containers ready now."""
        return self._pool.ready()

    # -- cleanup ------------------------------------------------------------

    def sweep(self, dead_owner: int | None = None) -> int:
        client = self._engine()
        removed = 0
        host = socket.gethostname()
        now = time.time()
        for summary in client.api.containers(all=True, filters={"label": f"{LABEL}=1"}):
            labels = summary.get("Labels") or {}
            owner_host, _, owner_pid = labels.get("faultline.owner", "").partition(":")
            stale = now - summary.get("Created", now) > STALE_AFTER_SECONDS
            if owner_host == host and owner_pid == str(dead_owner):
                stale = True
            elif owner_host == host and owner_pid.isdigit():
                try:
                    os.kill(int(owner_pid), 0)
                except ProcessLookupError:
                    stale = True
                except PermissionError:
                    pass
            if stale:
                with contextlib.suppress(docker.errors.APIError):
                    client.api.remove_container(summary["Id"], v=True, force=True)
                    removed += 1
        removed += live_dirs.sweep_stale(self.config.live_dir, dead_owner)
        with contextlib.suppress(docker.errors.APIError):
            vols = client.api.volumes(filters={"label": f"{LABEL}=1", "dangling": True})
            for vol in vols.get("Volumes") or []:
                with contextlib.suppress(docker.errors.APIError):
                    client.api.remove_volume(vol["Name"])
                    removed += 1
        return removed

    def leftovers(self, run_id: str) -> list[str]:
        self._teardown.wait()
        client = self._engine()
        found = [
            f"container {c['Id'][:12]}"
            for c in client.api.containers(all=True, filters={"label": f"faultline.run={run_id}"})
        ]
        vols = client.api.volumes(filters={"label": f"faultline.run={run_id}"})
        found += [f"volume {v['Name'][:12]}" for v in vols.get("Volumes") or []]
        found += live_dirs.list_dirs(self.config.live_dir, run_id)
        return found

    # -- running ------------------------------------------------------------

    def run(self, spec: RunSpec) -> RunResult:
        client = self._require()
        if spec.tester is None:
            self._recent = spec.limits
            warm = self._pool.take((spec.limits.disk_mb, spec.limits.max_files))
            if warm is not None:
                result = self._run_warm(client, warm, spec)
                if result is not None:
                    return result
        run_id = new_run_id()
        started = time.monotonic()
        created: list[str] = []
        running: list[_Running] = []
        try:
            app_id = self._create(
                client, run_id, "app", app_host_uid(), APP_DIR, spec.limits, "none", created
            )
            # The tester's container is made while the app starts.
            tester_made = None if spec.tester is None else self._background(
                self._create, client, run_id, "tester", TESTER_UID, TESTER_DIR, spec.limits,
                f"container:{app_id}", created, report=True,
            )  # fmt: skip
            try:
                app = self._launch(
                    client, app_id, spec.limits, spec.on_line if spec.tester is None else None
                )
                running.append(app)
                app.send(self._request(spec.app, spec.limits, APP_DIR))
            finally:
                tester_id = tester_made.result() if tester_made else None
            if spec.tester is None:
                self._wait(client, app)
                return RunResult(
                    backend=self.name,
                    app=self._finish(client, app),
                    wall_seconds=time.monotonic() - started,
                    run_id=run_id,
                )
            assert tester_id is not None
            tester = self._start_tester(client, run_id, spec, app_id, tester_id, created)
            running.append(tester)
            self._wait(client, tester)
            if tester.timed_out:
                app.timed_out = self._is_running(client, app)
            tester_result = self._finish(client, tester)
            # Stopping the app (a server runs until killed) and reading the report
            # each wait on the engine: both at once.
            read_report = self._background(self._report, client, tester.container_id)
            app_result = self._finish(client, app)
            report, report_error = read_report.result()
            return RunResult(
                backend=self.name,
                app=app_result,
                tester=tester_result,
                report=report,
                report_error=report_error,
                wall_seconds=time.monotonic() - started,
                run_id=run_id,
            )
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
            raise SandboxError(f"Docker engine error: {exc}") from exc
        finally:
            for party in running:
                party.close()
            self._teardown.later(lambda: self._remove_all(client, list(created)))

    def _background(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Call fn on the backend's threads; the future's result() waits for it."""
        return self._threads.submit(fn, *args, **kwargs)

    @staticmethod
    def _remove(client: docker.DockerClient, cid: str) -> None:
        with contextlib.suppress(docker.errors.APIError, requests.exceptions.RequestException):
            client.api.remove_container(cid, v=True, force=True)

    def _remove_all(self, client: docker.DockerClient, cids: list[str]) -> None:
        removals = [self._background(self._remove, client, cid) for cid in cids]
        for removed in removals:
            removed.result()

    def _start_tester(
        self,
        client: docker.DockerClient,
        run_id: str,
        spec: RunSpec,
        app_id: str,
        tester_id: str,
        created: list[str],
    ) -> _Running:
        assert spec.tester is not None
        try:
            tester = self._launch(client, tester_id, spec.limits, spec.on_line)
        except docker.errors.APIError:
            # The app died before the tester could join its namespace. Its loopback
            # is gone with it: an isolated tester sees the same thing.
            if self._is_running_id(client, app_id):
                raise
            tester_id = self._create(
                client, run_id, "tester", TESTER_UID, TESTER_DIR, spec.limits, "none", created,
                report=True,
            )  # fmt: skip
            tester = self._launch(client, tester_id, spec.limits, spec.on_line)
        tester.send(self._request(spec.tester, spec.limits, TESTER_DIR, report=True))
        return tester

    def _create(
        self,
        client: docker.DockerClient,
        run_id: str,
        who: str,
        uid: int,
        workdir: str,
        limits: Limits,
        network_mode: str,
        created: list[str],
        report: bool = False,
        binds: tuple[Mount, ...] = (),
        cpu_shares: int | None = None,
    ) -> str:
        """A container that will run docker_entry; its run comes later, on stdin.
        `binds`: host directories (a live session's bridge directory)."""
        labels = {LABEL: "1", "faultline.run": run_id, "faultline.owner": self._owner()}
        mounts = list(binds)
        if report:
            mounts.append(Mount(REPORT_DIR, None, type="volume", labels=labels))
        disk = f"size={limits.disk_mb}m,nr_inodes={tmpfs_inodes(limits.max_files)}"
        tmpfs_opts = f"{disk},mode=0755,uid={uid},gid={uid},exec,nosuid,nodev"
        host_config = client.api.create_host_config(
            # Not network_disabled: that leaves /etc/hosts empty, so "localhost" would not
            # resolve (it does on bwrap). The tester shares the app's hosts file.
            network_mode=network_mode,
            extra_hosts={"sandbox": "127.0.0.1"} if network_mode == "none" else None,
            read_only=True,
            tmpfs={workdir: tmpfs_opts, SANDBOX_TMP: f"{disk},mode=1777,exec,nosuid,nodev"},
            mounts=mounts,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            pids_limit=limits.pids,
            mem_limit=f"{limits.memory_mb}m",
            memswap_limit=f"{limits.memory_mb}m",
            nano_cpus=int(self.config.cpus * 1e9),
            cpu_shares=cpu_shares,
            ulimits=[
                # docker_entry lowers it to the run's (cpu_rlimit) just before the command.
                Ulimit(name="cpu", soft=_WARM_CPU_SECONDS, hard=_WARM_CPU_SECONDS),
                Ulimit(name="core", soft=0, hard=0),
                Ulimit(name="nofile", soft=OPEN_FILES, hard=OPEN_FILES),
            ],
            log_config=LogConfig(type="none"),
            runtime=self.config.docker_runtime,
            ipc_mode="private",
            shm_size=f"{limits.disk_mb}m",
            privileged=False,
        )
        container = client.api.create_container(
            self.config.docker_image,
            command=ENTRY,
            entrypoint=[],
            user=f"{uid}:{uid}",
            working_dir=workdir,
            # The command's whole environment comes with the request; this is the entry's.
            environment={"PATH": SANDBOX_PATH},
            # StdinOnce (with stdin_open): stdin ends when the harness's attach does.
            stdin_open=True,
            hostname="sandbox" if network_mode == "none" else None,
            labels=labels,
            host_config=host_config,
            name=f"faultline-{run_id}-{who}-{len(created)}",
        )
        cid: str = container["Id"]
        created.append(cid)
        return cid

    def _owner(self) -> str:
        # Asked each time: a forked child (a Celery worker process) owns what it makes.
        return f"{socket.gethostname()}:{os.getpid()}"

    def _launch(
        self,
        client: docker.DockerClient,
        cid: str,
        limits: Limits,
        on_line: LineCallback | None,
    ) -> _Running:
        """Start a created container, attached; it waits in docker_entry for its request."""
        stdout = CappedOutput(limits.output_bytes, on_line)
        stderr = CappedOutput(limits.output_bytes)
        # Attach before start, so not a byte of early output is missed.
        params = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        sock = client.api.attach_socket(cid, params=params)
        frames = (demux_adaptor(*frame) for frame in frames_iter(sock, tty=False))
        thread = drain_frames(frames, stdout, stderr)
        started = time.monotonic()
        party = _Running(cid, sock, stdout, stderr, thread, started, started + limits.wall_seconds)
        try:
            client.api.start(cid)
        except BaseException:
            party.close()
            raise
        return party

    @staticmethod
    def _request(party: Party, limits: Limits, workdir: str, report: bool = False) -> bytes:
        extra = {"PWD": workdir, **({"FAULTLINE_REPORT_DIR": REPORT_DIR} if report else {})}
        return docker_entry.encode_request(
            files={name: bytes(content) for name, content in party.files.items()},
            argv=list(party.command),
            env=party_env(party.env, extra),
            cpu=cpu_rlimit(limits),
            seccomp=seccomp.program(),
            backstop=int(limits.wall_seconds) + BACKSTOP_EXTRA_SECONDS,
        )

    # -- live sessions (sandbox/live.py) ---------------------------------------

    def live_pair(self, spec: LiveSpec) -> DockerLivePair:
        from sandbox.backends.docker_live import DockerLivePair

        return DockerLivePair(self, spec)

    # -- pre-started (warm) single-party containers ---------------------------

    def _prestart(self, kind: Hashable) -> _Warm:
        """A started app container with this tmpfs, waiting for a run (the pool's thread)."""
        assert isinstance(kind, tuple)
        disk_mb, max_files = kind
        client = self._engine()
        limits = replace(self._recent, disk_mb=disk_mb, max_files=max_files)
        run_id = new_run_id()
        created: list[str] = []
        try:
            cid = self._create(
                client, run_id, "app", app_host_uid(), APP_DIR, limits, "none", created
            )
            party = self._launch(client, cid, limits, None)
        except BaseException:
            for cid in created:
                self._remove(client, cid)
            raise
        return _Warm(run_id, party, time.time(), limits)

    def _discard(self, party: _Running, later: bool = False) -> None:
        """Remove a pre-started container, now or by the teardown thread. Now at exit:
        the interpreter no longer waits for threads started by then."""
        party.close()
        remove = functools.partial(self._remove, self._engine(), party.container_id)
        if later:
            self._teardown.later(remove)
        else:
            remove()

    def _run_warm(
        self, client: docker.DockerClient, warm: _Warm, spec: RunSpec
    ) -> RunResult | None:
        """Run `spec` in a pre-started container; None if it cannot be used (run cold)."""
        party = warm.party
        limits = spec.limits
        try:
            try:
                if (warm.limits.memory_mb, warm.limits.pids) != (limits.memory_mb, limits.pids):
                    # The engine's own `docker update`: the SDK's wrapper of it lacks pids,
                    # so a plain request on the SDK's HTTP session, to the documented route.
                    api = client.api
                    response = api.post(
                        f"{api.base_url}/v{api.api_version}/containers/{party.container_id}/update",
                        json={
                            "Memory": limits.memory_mb * 1024 * 1024,
                            "MemorySwap": limits.memory_mb * 1024 * 1024,
                            "PidsLimit": limits.pids,
                        },
                        timeout=api.timeout,
                    )
                    response.raise_for_status()
            except (docker.errors.APIError, requests.exceptions.RequestException):
                return None  # e.g. its memory is above the new limit already
            party.stdout.cap = party.stderr.cap = limits.output_bytes
            party.stdout.on_line = spec.on_line
            party.started = time.monotonic()
            party.deadline = party.started + limits.wall_seconds
            party.send(self._request(spec.app, limits, APP_DIR))
            try:
                self._wait(client, party)
                app = self._finish(client, party)
            except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
                raise SandboxError(f"Docker engine error: {exc}") from exc
            return RunResult(
                backend=self.name,
                app=app,
                wall_seconds=time.monotonic() - party.started,
                run_id=warm.run_id,
            )
        finally:
            self._discard(party, later=True)

    def _wait(self, client: docker.DockerClient, party: _Running) -> None:
        while True:
            remaining = party.deadline - time.monotonic()
            if remaining <= 0:
                party.timed_out = True
                break
            try:
                client.api.wait(party.container_id, timeout=max(1, int(remaining + 0.999)))
                break
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                continue
        party.ended = time.monotonic()

    def _is_running_id(self, client: docker.DockerClient, cid: str) -> bool:
        try:
            return bool(client.api.inspect_container(cid)["State"]["Running"])
        except docker.errors.NotFound:
            return False

    def _still_running(self, cid: str) -> bool:
        try:
            return self._is_running_id(self._engine(), cid)
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            return False

    def _is_running(self, client: docker.DockerClient, party: _Running) -> bool:
        return self._is_running_id(client, party.container_id)

    def _finish(self, client: docker.DockerClient, party: _Running) -> PartyResult:
        if party.ended is None:
            party.ended = time.monotonic()
        state: dict[str, Any] = client.api.inspect_container(party.container_id)["State"]
        if state.get("Running"):
            party.killed = True
            with contextlib.suppress(docker.errors.APIError):
                client.api.kill(party.container_id)
            client.api.wait(party.container_id, timeout=30)
            state = client.api.inspect_container(party.container_id)["State"]
        party.thread.join(timeout=5)
        party.close()
        exit_code = None if party.killed else state.get("ExitCode")
        return PartyResult(
            exit_code=exit_code,
            timed_out=party.timed_out,
            oom_killed=bool(state.get("OOMKilled")),
            stdout=party.stdout.text(),
            stderr=party.stderr.text(),
            output_truncated=party.stdout.truncated or party.stderr.truncated,
            wall_seconds=party.ended - party.started,
        )

    def _report(
        self, client: docker.DockerClient, cid: str
    ) -> tuple[dict[str, Any] | None, str | None]:
        try:
            stream, _stat = client.api.get_archive(cid, f"{REPORT_DIR}/report.json")
        except docker.errors.NotFound:
            return None, "the tester wrote no report.json"
        # Read no more than the cap allows: a tar header, the file, padding.
        budget = REPORT_MAX_BYTES + 64 * 1024
        data = bytearray()
        for chunk in stream:
            data += chunk
            if len(data) > budget:
                return None, f"report.json larger than {REPORT_MAX_BYTES} bytes"
        try:
            with tarfile.open(fileobj=io.BytesIO(bytes(data)), mode="r:") as tar:
                member = tar.next()
                if member is None or not member.isreg() or member.name != "report.json":
                    return None, "report.json is not a regular file"
                fh = tar.extractfile(member)
                content = fh.read(REPORT_MAX_BYTES + 1) if fh else b""
        except tarfile.TarError as exc:
            return None, f"report unreadable: {exc}"
        return parse_report(content, REPORT_MAX_BYTES)
