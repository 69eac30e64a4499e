"""The Docker backend: the `docker` SDK against a real engine (local or remote).

Files go in with put_archive (no host bind mounts, so a remote engine works
too) into a volume, from which the party's command copies them into its
size-limited tmpfs workspace. The app runs with network_mode="none"; the tester
joins the app's network namespace, so the two share only loopback. Output is read
from the attach stream with a cap (the engine itself caps nothing; the container
log driver is "none" so a flood cannot fill the engine's disk either). The
tester's report is read with get_archive from its /report volume.

Every container and volume carries the label faultline.sandbox=1, is removed
after the run, and a stale one (its harness died) is swept on the next start.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import docker
import docker.errors
import requests.exceptions
from docker.types import LogConfig, Mount, Ulimit

from sandbox import seccomp
from sandbox.backends.base import OPEN_FILES, app_host_uid, cpu_rlimit, new_run_id, party_env
from sandbox.capture import CappedOutput, LineCallback, drain_frames
from sandbox.config import (
    APP_DIR,
    BUILD_IMAGE_CMD,
    REPORT_DIR,
    REPORT_MAX_BYTES,
    SANDBOX_TMP,
    TESTER_DIR,
    TESTER_UID,
    SandboxConfig,
)
from sandbox.reaper import ensure_reaper
from sandbox.scratch import parse_report, tmpfs_inodes
from sandbox.spec import (
    BackendStatus,
    Files,
    Limits,
    Party,
    PartyResult,
    RunResult,
    RunSpec,
    SandboxError,
    SandboxUnavailable,
)

T = TypeVar("T")
LABEL = "faultline.sandbox"
INBOX = "/faultline/in"
# Containers older than this are stale whoever owns them (no run lasts that long).
STALE_AFTER_SECONDS = 6 * 3600
# Every command starts through this: copy the files in ($1, when given), then
# install the seccomp filter (seccomp.exec_prefix) and run the command under a
# backstop `timeout`, so that a container whose harness was killed stops by
# itself even before a sweep removes it. Through sh and timeout, a command that
# cannot be executed is exit status 126/127, as in a shell, not an engine error.
_ENTRY = '[ -z "$1" ] || cp -R "$1"/. . || exit 125; shift; exec "$@"'
BACKSTOP_EXTRA_SECONDS = 30


@dataclass
class _Running:
    container_id: str
    stdout: CappedOutput
    stderr: CappedOutput
    thread: threading.Thread | None
    started: float
    deadline: float
    timed_out: bool = False
    killed: bool = False
    ended: float | None = None


def _tar(files: Files) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs: set[str] = set()
        for rel, content in files.items():
            parts = rel.split("/")
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
            info = tarfile.TarInfo(rel)
            info.size = len(content)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(bytes(content)))
    return buf.getvalue()


class DockerBackend:
    name: ClassVar[str] = "docker"

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._client: docker.DockerClient | None = None
        self._lock = threading.Lock()
        self._swept = False
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        self._runtime_seen = False

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
        detail = f"image {self.config.docker_image}{runtime}, {self.config.cpus:g} CPU per party"
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
        with contextlib.suppress(docker.errors.APIError):
            vols = client.api.volumes(filters={"label": f"{LABEL}=1", "dangling": True})
            for vol in vols.get("Volumes") or []:
                with contextlib.suppress(docker.errors.APIError):
                    client.api.remove_volume(vol["Name"])
                    removed += 1
        return removed

    def leftovers(self, run_id: str) -> list[str]:
        client = self._engine()
        found = [
            f"container {c['Id'][:12]}"
            for c in client.api.containers(all=True, filters={"label": f"faultline.run={run_id}"})
        ]
        vols = client.api.volumes(filters={"label": f"faultline.run={run_id}"})
        found += [f"volume {v['Name'][:12]}" for v in vols.get("Volumes") or []]
        return found

    # -- running ------------------------------------------------------------

    def run(self, spec: RunSpec) -> RunResult:
        client = self._require()
        run_id = new_run_id()
        started = time.monotonic()
        created: list[str] = []
        running: list[_Running] = []
        try:
            reporting_app = spec.tester is None
            app_id = self._create(
                client,
                run_id,
                "app",
                spec.app,
                app_host_uid(),
                APP_DIR,
                spec.limits,
                "none",
                created,
            )
            # The tester's container is made (and given its files) while the app starts.
            tester_made = None if spec.tester is None else self._background(
                self._create, client, run_id, "tester", spec.tester, TESTER_UID, TESTER_DIR,
                spec.limits, f"container:{app_id}", created, report=True,
            )  # fmt: skip
            try:
                app = self._start(
                    client, app_id, spec.limits, spec.on_line if reporting_app else None
                )
            finally:
                tester_id = tester_made() if tester_made else None
            running.append(app)
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
            app_result = self._finish(client, app)
            report, report_error = self._report(client, tester.container_id)
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
            removals = [self._background(self._remove, client, cid) for cid in created]
            for removed in removals:
                removed()

    @staticmethod
    def _background(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Callable[[], T]:
        """Call fn in a thread; the returned function waits and returns (or raises) its result."""
        outcome: list[Any] = []

        def call() -> None:
            try:
                outcome.append((True, fn(*args, **kwargs)))
            except BaseException as exc:
                outcome.append((False, exc))

        thread = threading.Thread(target=call, name="faultline-docker")
        thread.start()

        def result() -> T:
            thread.join()
            ok, value = outcome[0]
            if not ok:
                raise value
            return value

        return result

    @staticmethod
    def _remove(client: docker.DockerClient, cid: str) -> None:
        with contextlib.suppress(docker.errors.APIError, requests.exceptions.RequestException):
            client.api.remove_container(cid, v=True, force=True)

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
            return self._start(client, tester_id, spec.limits, spec.on_line)
        except docker.errors.APIError:
            # The app died before the tester could join its namespace. Its loopback
            # is gone with it: an isolated tester sees the same thing.
            if self._is_running_id(client, app_id):
                raise
        tester_id = self._create(
            client, run_id, "tester", spec.tester, TESTER_UID, TESTER_DIR, spec.limits,
            "none", created, report=True,
        )  # fmt: skip
        return self._start(client, tester_id, spec.limits, spec.on_line)

    def _create(
        self,
        client: docker.DockerClient,
        run_id: str,
        who: str,
        party: Party,
        uid: int,
        workdir: str,
        limits: Limits,
        network_mode: str,
        created: list[str],
        report: bool = False,
    ) -> str:
        labels = {LABEL: "1", "faultline.run": run_id, "faultline.owner": self._owner}
        mounts = []
        if party.files:
            mounts.append(Mount(INBOX, None, type="volume", labels=labels))
        backstop = int(limits.wall_seconds) + BACKSTOP_EXTRA_SECONDS
        inbox = INBOX if party.files else ""
        command = ["/bin/sh", "-c", _ENTRY, "faultline", inbox, *seccomp.exec_prefix()]
        command += ["timeout", "-s", "KILL", str(backstop), *party.command]
        if report:
            mounts.append(Mount(REPORT_DIR, None, type="volume", labels=labels))
        disk = f"size={limits.disk_mb}m,nr_inodes={tmpfs_inodes(limits.max_files)}"
        tmpfs_opts = f"{disk},mode=0755,uid={uid},gid={uid},exec,nosuid,nodev"
        cpu_soft, cpu_hard = cpu_rlimit(limits)
        host_config = client.api.create_host_config(
            network_mode=network_mode,
            read_only=True,
            tmpfs={workdir: tmpfs_opts, SANDBOX_TMP: f"{disk},mode=1777,exec,nosuid,nodev"},
            mounts=mounts,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            pids_limit=limits.pids,
            mem_limit=f"{limits.memory_mb}m",
            memswap_limit=f"{limits.memory_mb}m",
            nano_cpus=int(self.config.cpus * 1e9),
            ulimits=[
                Ulimit(name="cpu", soft=cpu_soft, hard=cpu_hard),
                Ulimit(name="core", soft=0, hard=0),
                Ulimit(name="nofile", soft=OPEN_FILES, hard=OPEN_FILES),
            ],
            log_config=LogConfig(type="none"),
            runtime=self.config.docker_runtime,
            ipc_mode="private",
            shm_size=f"{limits.disk_mb}m",
            privileged=False,
        )
        env = party_env(party.env, {"FAULTLINE_REPORT_DIR": REPORT_DIR} if report else None)
        container = client.api.create_container(
            self.config.docker_image,
            command=command,
            entrypoint=[],
            user=f"{uid}:{uid}",
            working_dir=workdir,
            environment=env,
            hostname="sandbox" if network_mode == "none" else None,
            labels=labels,
            host_config=host_config,
            network_disabled=network_mode == "none",
            name=f"faultline-{run_id}-{who}-{len(created)}",
        )
        cid: str = container["Id"]
        created.append(cid)
        if party.files and not client.api.put_archive(cid, INBOX, _tar(party.files)):
            raise SandboxError("the engine refused the files (put_archive)")
        return cid

    def _start(
        self,
        client: docker.DockerClient,
        cid: str,
        limits: Limits,
        on_line: LineCallback | None,
    ) -> _Running:
        stdout = CappedOutput(limits.output_bytes, on_line)
        stderr = CappedOutput(limits.output_bytes)
        # Attach before start, so not a byte of early output is missed.
        frames = client.api.attach(cid, stdout=True, stderr=True, stream=True, demux=True)
        thread = drain_frames(frames, stdout, stderr)
        started = time.monotonic()
        client.api.start(cid)
        return _Running(
            container_id=cid,
            stdout=stdout,
            stderr=stderr,
            thread=thread,
            started=started,
            deadline=started + limits.wall_seconds,
        )

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
        if party.thread is not None:
            party.thread.join(timeout=5)
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
