"""The bubblewrap backend: namespaces, cgroups and tmpfs on this machine, no daemon.

Each party is started as

    faultline-launch (root: joins the party's cgroups, sets RLIMIT_CPU,
                      [joins the run's network namespace: two-party runs],
                      drops to the party's unprivileged uid, no groups)
      -> bwrap (new user, pid, ipc, uts, cgroup [and net] namespaces, read-only
                runtime, tmpfs scratch, private /proc, dies with its parent,
                seccomp filter of sandbox/seccomp.py)
      -> the command

so every process of the party, however it forks, lives in the party's cgroups
and pid namespace, and dies with it. faultline-launch is compiled from
sandbox/launcher.c when the runtime is prepared; without a C compiler the same
steps are done by `sh -c` + nsenter + setpriv (two more execs per party).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import selectors
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sandbox import cgroups, scratch, seccomp
from sandbox.backends.base import OPEN_FILES, app_host_uid, cpu_rlimit, new_run_id, party_env
from sandbox.backends.teardown import Teardown
from sandbox.backends.warm import WarmPool
from sandbox.capture import CappedOutput, LineCallback
from sandbox.config import (
    APP_DIR,
    APP_UID,
    REPORT_DIR,
    REPORT_MAX_BYTES,
    SANDBOX_SHM,
    SANDBOX_TMP,
    TESTER_DIR,
    TESTER_UID,
    VENV_DIR,
    SandboxConfig,
)
from sandbox.netns import new_loopback_netns
from sandbox.reaper import ensure_reaper
from sandbox.runtime import launcher_path, runtime_problem
from sandbox.spec import (
    BackendStatus,
    Limits,
    PartyResult,
    RunResult,
    RunSpec,
    SandboxError,
    SandboxUnavailable,
)

if TYPE_CHECKING:
    from sandbox.backends.bwrap_live import BwrapLivePair
    from sandbox.live import LiveSpec

log = logging.getLogger(__name__)

# The fallback for faultline-launch: joins the $1 cgroups that follow as root
# before anything else runs, so not even the first fork escapes them; then CPU
# rlimits (soft -> SIGXCPU, hard -> SIGKILL) and open files; nsenter and setpriv follow.
_WRAPPER = (
    'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; '
    'ulimit -c 0; ulimit -n "$3"; ulimit -S -t "$1"; ulimit -H -t "$2"; shift 3; exec "$@"'
)
_EXIT_CODE = re.compile(rb'"exit-code"\s*:\s*(-?\d+)')
# bwrap init + monitor are counted in the pids cgroup too.
_BWRAP_OWN_PIDS = 3


def _cgroup_limits(limits: Limits, cpus: float) -> dict[str, Any]:
    """A party's cgroup limits, the same for a cold start and a pre-started one."""
    return {
        "pids": limits.pids + _BWRAP_OWN_PIDS,
        "memory_bytes": limits.memory_mb << 20,
        "cpus": cpus,
    }


# Where a pre-started sandbox finds faultline-launch (its --exec-from half).
WARM_STUB = "/.faultline-exec"
_WARM_CPU_SECONDS = 2**31  # see _prestart
# How long a good status() is trusted before run() checks the machine again.
_STATUS_TTL = 30.0


@dataclass
class _Running:
    """A started party."""

    proc: subprocess.Popen[bytes]
    cgroup: cgroups.PartyCgroup
    stdout: CappedOutput
    stderr: CappedOutput
    streams: dict[int, CappedOutput]  # output pipes not yet at EOF
    status_fd: int
    pidfd: int
    started: float
    deadline: float
    timed_out: bool = False
    killed: bool = False
    ended: float | None = None

    def close_fds(self, *extra: int) -> None:
        """Close our ends of its pipes and its pidfd, plus `extra` (idempotent)."""
        for fd in [*extra, self.status_fd, self.pidfd, *self.streams]:
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.status_fd = self.pidfd = -1
        self.streams.clear()


@dataclass(frozen=True)
class BwrapParty:
    """What one party of a run is: its command, environment, host uid and mounts."""

    who: str  # "app", "tester", a live session's "sidecar" or "shell"
    command: list[str]
    env: dict[str, str]
    uid: int  # on the host; inside, the app and a shell are APP_UID, the others TESTER_UID
    binds: list[tuple[Path, str]]  # (host folder, path inside), read-write
    chdir: str
    netns_fd: int | None = None  # the run's network namespace; None: a namespace of its own
    on_line: LineCallback | None = None
    extra_fds: tuple[int, ...] = ()  # passed to the command as they are (the caller closes them)

    @property
    def inside_uid(self) -> int:
        # The candidate's parties are APP_UID inside (the /etc/passwd name "app").
        return APP_UID if self.who in ("app", "shell") else TESTER_UID


class BwrapCommand:
    """A party's command line and the file descriptors it refers to, owned together (as
    flatpak's FlatpakBwrap): an fd named in the argv is passed to the child, and the ones
    handed over are closed here once the child has them, or when it cannot be started."""

    def __init__(self) -> None:
        self.argv: list[str] = []
        self._passed: list[int] = []
        self._owned: list[int] = []

    def add(self, *args: str) -> None:
        self.argv.extend(args)

    def fd(self, fd: int, *, owned: bool) -> str:
        """Pass `fd` to the child (its number there is the same); `owned`: close it after.
        Returns the number, for the argv."""
        self._passed.append(fd)
        if owned:
            self._owned.append(fd)
        return str(fd)

    def own(self, *fds: int) -> None:
        """Close these after the start too (the child's ends of its output pipes)."""
        self._owned.extend(fds)

    def spawn(self, env: dict[str, str], stdout: int, stderr: int) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                pass_fds=self._passed,
                env=env,
                cwd="/",
                start_new_session=True,
            )
        finally:
            self.close()

    def close(self) -> None:
        for fd in self._owned:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._owned.clear()


def _remove_all(
    cleanups: list[object], on_error: Callable[[Exception], None] | None = None
) -> None:
    """Remove what a run made, newest first (cgroups before the scratch they ran on).

    A failure raises, unless `on_error` takes it and the rest are still removed."""
    items = list(reversed(cleanups))
    cleanups.clear()
    for item in items:
        try:
            item.remove()  # type: ignore[attr-defined]
        except (OSError, SandboxError) as exc:
            if on_error is None:
                raise
            on_error(exc)


@dataclass
class _Warm:
    """A pre-started party waiting on `request_fd` for its command (see launcher.c)."""

    run_id: str
    party: _Running
    request_fd: int
    space: scratch.PartyScratch
    app_dir: Path
    uid: int  # the app's host uid
    cleanups: list[object]  # [scratch, cgroup], removed in reverse

    def discard(self, backend: BwrapBackend, teardown: Teardown | None = None) -> None:
        """Kill it and remove everything it had, now or by `teardown` (idempotent)."""
        backend._stop(self.party)
        self.party.close_fds(self.request_fd)
        self.request_fd = -1
        if teardown is None:
            _remove_all(self.cleanups)
        else:
            items = list(self.cleanups)
            self.cleanups.clear()
            # Each failure is logged and the rest still removed: the reaper retries it.
            teardown.later(lambda: _remove_all(items, lambda exc: log.warning("teardown: %s", exc)))


class BwrapBackend:
    name: ClassVar[str] = "bwrap"

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._swept = False
        self._sweep_lock = threading.Lock()
        self._checked_at = -_STATUS_TTL
        # None: start parties through the sh + nsenter + setpriv fallback.
        self.launcher: Path | None = launcher_path(config.runtime_dir)
        self._pool: WarmPool[_Warm] = WarmPool(
            config.warm,
            make=lambda _kind: self._prestart(),
            discard=lambda warm: warm.discard(self),
            usable=lambda warm: warm.party.proc.poll() is None,
            forget=lambda warm: warm.party.close_fds(warm.request_fd),
            name=self.name,
        )
        self._teardown = Teardown()

    # -- status ----------------------------------------------------------

    def status(self) -> BackendStatus:
        self.launcher = launcher_path(self.config.runtime_dir)
        tools = ("bwrap",) if self.launcher else ("bwrap", "setpriv", "nsenter")
        missing = [tool for tool in tools if not shutil.which(tool)]
        if missing:
            return BackendStatus(
                self.name, False, f"missing {', '.join(missing)}: apt-get install -y bubblewrap"
            )
        if os.geteuid() != 0:
            return BackendStatus(self.name, False, "needs root (cgroups, tmpfs, uid switch)")
        if cgroups.cgroup_version() is None:
            return BackendStatus(self.name, False, "no pids and memory cgroup controllers")
        problem = runtime_problem(self.config.runtime_dir)
        if problem:
            return BackendStatus(self.name, False, problem)
        launch = (
            f"faultline-launch, {self._pool.size} pre-started"
            + (f" (last failure: {self._pool.failure})" if self._pool.failure else "")
            if self.launcher
            else "sh + setpriv (no faultline-launch, nothing pre-started)"
        )
        refused = len(seccomp.blocked())
        return BackendStatus(
            self.name,
            True,
            f"bubblewrap, cgroup v{cgroups.cgroup_version()}, runtime {self.config.runtime_dir}, "
            f"parties start through {launch}, "
            + (
                f"{self.config.cpus:g} CPU per party, "
                if cgroups.cpu_controller()
                else "no cpu cgroup controller (CPU share unbounded), "
            )
            + (
                f"seccomp refuses {refused} calls and all but "
                f"{len(seccomp.socket_families())} socket families"
                if refused
                else "no seccomp filter here"
            ),
        )

    def prestarted(self) -> list[str]:
        """Run ids of the pre-started single-party sandboxes ready now."""
        return self._pool.ready()

    def _require(self) -> None:
        # status() stats a dozen files; a run does not need that every time.
        if time.monotonic() - self._checked_at > _STATUS_TTL:
            st = self.status()
            if not st.available:
                raise SandboxUnavailable(f"bwrap backend unavailable: {st.detail}")
            self._checked_at = time.monotonic()
        ensure_reaper(self.name)
        with self._sweep_lock:
            if not self._swept:
                self.sweep()
                self._swept = True

    # -- cleanup of crashed harnesses -------------------------------------

    def sweep(self, dead_owner: int | None = None) -> int:
        removed = cgroups.sweep_stale(dead_owner)
        removed += scratch.sweep_stale(self.config.scratch_dir, dead_owner)
        return removed

    def leftovers(self, run_id: str) -> list[str]:
        self._teardown.wait()
        found = cgroups.list_groups(run_id) + scratch.list_scratch(self.config.scratch_dir, run_id)
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                with contextlib.suppress(OSError):
                    if run_id.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                        found.append(f"process {pid}")
        return found

    # -- running ------------------------------------------------------------

    def run(self, spec: RunSpec) -> RunResult:
        self._require()
        if spec.tester is None:
            warm = self._pool.take() if self.launcher else None
            if warm is not None:
                try:
                    warm.space.resize(disk_mb=spec.limits.disk_mb, max_files=spec.limits.max_files)
                    warm.party.cgroup.set_limits(**_cgroup_limits(spec.limits, self.config.cpus))
                except (OSError, SandboxError):
                    warm.discard(self)  # e.g. a limit below what it already uses: start cold
                else:
                    return self._run_warm(warm, spec)
        run_id = new_run_id()
        started = time.monotonic()
        limits = spec.limits
        owner = f"{os.getpid()}-{run_id}"
        scratch.prepare_base(self.config.scratch_dir)

        cleanups: list[object] = []
        running: list[_Running] = []
        netns_fd: int | None = None
        app_uid = app_host_uid()
        try:
            app_scratch, app_dir, binds = self._app_space(owner, limits, cleanups, app_uid)
            app_scratch.write_files(app_dir, spec.app.files, app_uid)

            app_party = BwrapParty(
                who="app",
                command=spec.app.command,
                env=party_env(spec.app.env),
                uid=app_uid,
                binds=binds,
                chdir=APP_DIR,
            )
            if spec.tester is None:
                app = self._start(owner, replace(app_party, on_line=spec.on_line), limits, cleanups)
                running.append(app)
                return self._single(app, run_id)

            tester_scratch, tester_dir, tester_binds = self._tester_space(
                owner, "tester", limits, cleanups
            )
            report_dir = tester_scratch.make_dir("report", TESTER_UID, 0o700)
            tester_scratch.write_files(tester_dir, spec.tester.files, TESTER_UID)
            netns_fd = new_loopback_netns()

            app = self._start(owner, replace(app_party, netns_fd=netns_fd), limits, cleanups)
            running.append(app)
            tester_party = BwrapParty(
                who="tester",
                command=spec.tester.command,
                env=party_env(spec.tester.env, {"FAULTLINE_REPORT_DIR": REPORT_DIR}),
                uid=TESTER_UID,
                binds=[*tester_binds, (report_dir, REPORT_DIR)],
                chdir=TESTER_DIR,
                netns_fd=netns_fd,
                on_line=spec.on_line,
            )
            tester = self._start(owner, tester_party, limits, cleanups)
            running.append(tester)
            self._wait(tester, [app])
            if tester.timed_out:
                app.timed_out = app.proc.poll() is None
            self._stop(tester)
            self._stop(app)
            self._drain([tester, app])
            tester_result = self._finish(tester)
            app_result = self._finish(app)
            report, report_error = scratch.read_report(report_dir, REPORT_MAX_BYTES)
            return RunResult(
                backend=self.name,
                app=app_result,
                tester=tester_result,
                report=report,
                report_error=report_error,
                wall_seconds=time.monotonic() - started,
                run_id=run_id,
            )
        finally:
            for party in running:
                self._stop(party)
            for party in running:
                party.close_fds()
            if netns_fd is not None:
                os.close(netns_fd)
            # Not deferred as in _run_warm: a cold start is what runs next when
            # runs come in a burst, and its mkdirs would queue behind our rmdirs.
            _remove_all(cleanups)

    def _app_space(
        self, owner: str, limits: Limits, cleanups: list[object], uid: int, who: str = "app"
    ) -> tuple[scratch.PartyScratch, Path, list[tuple[Path, str]]]:
        """Scratch space of a candidate's party: its workspace, /tmp and /dev/shm."""
        return self._space(owner, who, limits, cleanups, uid, ("workspace", APP_DIR))

    def _tester_space(
        self, owner: str, who: str, limits: Limits, cleanups: list[object]
    ) -> tuple[scratch.PartyScratch, Path, list[tuple[Path, str]]]:
        """Scratch space of a TESTER_UID party (the tester, a live session's sidecar)."""
        return self._space(owner, who, limits, cleanups, TESTER_UID, ("tester", TESTER_DIR))

    def _space(
        self,
        owner: str,
        who: str,
        limits: Limits,
        cleanups: list[object],
        uid: int,
        home: tuple[str, str],
    ) -> tuple[scratch.PartyScratch, Path, list[tuple[Path, str]]]:
        space = self._scratch(owner, who, limits, cleanups)
        folder = space.make_dir(home[0], uid)
        space.make_dir("tmp", uid, 0o1777)
        space.make_dir("shm", uid, 0o1777)
        binds = [
            (folder, home[1]),
            (space.root / "tmp", SANDBOX_TMP),
            (space.root / "shm", SANDBOX_SHM),
        ]
        return space, folder, binds

    # -- live sessions (sandbox/live.py) ---------------------------------------

    def live_pair(self, spec: LiveSpec) -> BwrapLivePair:
        from sandbox.backends.bwrap_live import BwrapLivePair

        return BwrapLivePair(self, spec)

    # -- pre-started (warm) single-party sandboxes ----------------------------

    def _prestart(self) -> _Warm:
        """A single-party sandbox made up to its command, which waits for the run.

        Everything is made with the default limits; the run's own limits are set
        when it is taken (see _run_warm). Called only from the pool's thread.
        """
        # The run's CPU limit is set by the stub, which may lower a hard limit but
        # never raise one: start from a limit no run asks for.
        limits = Limits(cpu_seconds=_WARM_CPU_SECONDS)
        run_id = new_run_id()
        owner = f"{os.getpid()}-{run_id}"
        scratch.prepare_base(self.config.scratch_dir)
        cleanups: list[object] = []
        request_r, request_w = os.pipe()
        uid = app_host_uid()
        try:
            space, app_dir, binds = self._app_space(owner, limits, cleanups, uid)
            stub = BwrapParty(
                who="app",
                command=[WARM_STUB, "--exec-from", str(request_r)],
                env={},
                uid=uid,
                binds=binds,
                chdir=APP_DIR,
                extra_fds=(request_r,),
            )
            party = self._start(owner, stub, limits, cleanups)
        except BaseException:
            os.close(request_w)
            _remove_all(cleanups)
            raise
        finally:
            os.close(request_r)
        return _Warm(run_id, party, request_w, space, app_dir, uid, cleanups)

    def _run_warm(self, warm: _Warm, spec: RunSpec) -> RunResult:
        limits = spec.limits
        party = warm.party
        try:
            warm.space.write_files(warm.app_dir, spec.app.files, warm.uid)
            party.stdout.cap = party.stderr.cap = limits.output_bytes
            party.stdout.on_line = spec.on_line
            # bwrap sets PWD for a cold start; the stub's request replaces its environment.
            env = {**party_env(spec.app.env), "PWD": APP_DIR}
            fields = [*map(str, cpu_rlimit(limits)), str(len(spec.app.command)), *spec.app.command]
            fields += [f"{key}={value}" for key, value in env.items()]
            request = b"".join(field.encode() + b"\0" for field in fields)
            party.started = time.monotonic()
            party.deadline = party.started + limits.wall_seconds
            try:
                with os.fdopen(warm.request_fd, "wb", closefd=False) as pipe:
                    pipe.write(request)
            except BrokenPipeError:
                pass  # the sandbox died while waiting: _finish reports it as bwrap's failure
            os.close(warm.request_fd)
            warm.request_fd = -1
            return self._single(party, warm.run_id)
        finally:
            warm.discard(self, self._teardown)

    def _single(self, app: _Running, run_id: str) -> RunResult:
        """Wait for a started single-party run and collect what it did."""
        self._wait(app, [])
        self._stop(app)
        self._drain([app])
        return RunResult(
            backend=self.name,
            app=self._finish(app),
            wall_seconds=time.monotonic() - app.started,
            run_id=run_id,
        )

    def _scratch(
        self, owner: str, who: str, limits: Limits, cleanups: list[object]
    ) -> scratch.PartyScratch:
        space = scratch.PartyScratch(
            self.config.scratch_dir,
            f"{owner}-{who}",
            disk_mb=limits.disk_mb,
            max_files=limits.max_files,
        )
        cleanups.append(space)
        return space

    def _bwrap_args(self, cmd: BwrapCommand, party: BwrapParty) -> None:
        runtime = self.config.runtime_dir
        cmd.add(
            "bwrap",
            # --disable-userns: no nested user namespaces, which would hand the
            # code a fresh set of capabilities to probe the kernel with.
            "--unshare-user", "--disable-userns",
            "--uid", str(party.inside_uid), "--gid", str(party.inside_uid),
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", "sandbox",
            "--die-with-parent", "--new-session",
            "--ro-bind", "/usr", "/usr",
        )  # fmt: skip
        if party.netns_fd is None:
            cmd.add("--unshare-net")
        for top in ("bin", "sbin", "lib", "lib32", "lib64"):
            host = Path("/") / top
            if host.is_symlink():
                cmd.add("--symlink", os.readlink(host), f"/{top}")
            elif host.is_dir():
                cmd.add("--ro-bind", str(host), f"/{top}")
        cmd.add("--ro-bind", str(runtime / "venv"), VENV_DIR)
        cmd.add("--ro-bind", str(runtime / "etc"), "/etc")
        cmd.add("--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache")
        cmd.add("--proc", "/proc", "--dev", "/dev")
        for source, target in party.binds:
            cmd.add("--bind", str(source), target)
        if party.extra_fds and self.launcher is not None:
            cmd.add("--ro-bind", str(self.launcher), WARM_STUB)
        # The root and /dev that bwrap builds are tmpfs the sandbox user owns and
        # no disk limit bounds: make them read-only (scratch space is bound in).
        cmd.add("--remount-ro", "/dev", "--remount-ro", "/", "--chdir", party.chdir)
        filter_fd = seccomp.program_fd()
        if filter_fd is not None:
            cmd.add("--seccomp", cmd.fd(filter_fd, owned=True))

    def _launch_args(
        self,
        cmd: BwrapCommand,
        procs: list[str],
        cpu: tuple[int, int],
        party: BwrapParty,
        label: str,
    ) -> None:
        """What runs before bwrap: cgroups, CPU limit, [network namespace], uid drop."""
        netns = None if party.netns_fd is None else cmd.fd(party.netns_fd, owned=False)
        if self.launcher is not None:
            cmd.add(str(self.launcher))
            for procs_file in procs:
                cmd.add("--cgroup", procs_file)
            cmd.add("--cpu", *map(str, cpu), "--nofile", str(OPEN_FILES))
            if netns is not None:
                cmd.add("--netns", netns)
            cmd.add("--user", str(party.uid), "--")
            return
        cmd.add("/bin/sh", "-c", _WRAPPER, f"faultline-{label}", str(len(procs)), *procs)
        cmd.add(*map(str, cpu), str(OPEN_FILES))
        if netns is not None:
            cmd.add("nsenter", f"--net=/proc/self/fd/{netns}", "--")
        cmd.add("setpriv", f"--reuid={party.uid}", f"--regid={party.uid}", "--clear-groups", "--")

    def _start(
        self, owner: str, party: BwrapParty, limits: Limits, cleanups: list[object]
    ) -> _Running:
        label = f"{owner}-{party.who}"
        cgroup = cgroups.PartyCgroup(label, **_cgroup_limits(limits, self.config.cpus))
        cleanups.append(cgroup)
        status_r, status_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        cmd = BwrapCommand()
        cmd.own(status_w, out_w, err_w)  # the child's ends: closed once it has them
        try:
            self._launch_args(cmd, cgroup.procs_files, cpu_rlimit(limits), party, label)
            self._bwrap_args(cmd, party)
            for fd in party.extra_fds:
                cmd.fd(fd, owned=False)
            cmd.add("--json-status-fd", cmd.fd(status_w, owned=False), "--", *party.command)
            stdout = CappedOutput(limits.output_bytes, party.on_line)
            stderr = CappedOutput(limits.output_bytes)
            started = time.monotonic()
            proc = cmd.spawn(party.env, stdout=out_w, stderr=err_w)
        except BaseException as exc:
            cmd.close()
            for fd in (status_r, out_r, err_r):
                os.close(fd)
            if isinstance(exc, OSError):
                raise SandboxError(f"cannot start bwrap: {exc}") from exc
            raise
        try:
            pidfd = os.pidfd_open(proc.pid)
        except OSError as exc:
            proc.kill()
            proc.wait()
            for fd in (status_r, out_r, err_r):
                os.close(fd)
            raise SandboxError(f"pidfd_open failed: {exc}") from exc
        return _Running(
            proc=proc,
            cgroup=cgroup,
            stdout=stdout,
            stderr=stderr,
            streams={out_r: stdout, err_r: stderr},
            status_fd=status_r,
            pidfd=pidfd,
            started=started,
            deadline=started + limits.wall_seconds,
        )

    @staticmethod
    def _read(party: _Running, fd: int, sel: selectors.BaseSelector) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            party.streams[fd].feed(data)
            return
        sel.unregister(fd)
        party.streams.pop(fd).finish()
        os.close(fd)

    def _wait(self, until: _Running, others: list[_Running]) -> None:
        """Read every party's output until `until` exits or reaches its wall limit.

        One thread, no polling: the pipes and a pidfd of `until` in one selector.
        """
        with selectors.DefaultSelector() as sel:
            for party in [until, *others]:
                for fd in party.streams:
                    sel.register(fd, selectors.EVENT_READ, party)
            sel.register(until.pidfd, selectors.EVENT_READ, None)
            exited = False
            while not exited:
                remaining = until.deadline - time.monotonic()
                if remaining <= 0:
                    until.timed_out = True
                    break
                for key, _ in sel.select(remaining):
                    if key.data is None:
                        exited = True
                    else:
                        self._read(key.data, key.fd, sel)
        until.ended = time.monotonic()

    def _drain(self, parties: list[_Running], timeout: float = 5.0) -> None:
        """After the parties are dead: read what is left in their pipes, up to EOF."""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            for party in parties:
                for fd in party.streams:
                    sel.register(fd, selectors.EVENT_READ, party)
            while sel.get_map() and (remaining := deadline - time.monotonic()) > 0:
                for key, _ in sel.select(remaining):
                    self._read(key.data, key.fd, sel)
        for party in parties:
            for fd, capture in list(party.streams.items()):
                capture.finish()
                os.close(fd)
                del party.streams[fd]

    def _stop(self, party: _Running) -> None:
        """Kill every process of the party (idempotent)."""
        if party.ended is None:
            party.ended = time.monotonic()
        if party.proc.poll() is None:
            party.killed = True
            with contextlib.suppress(ProcessLookupError):
                party.proc.kill()
        party.cgroup.kill()
        party.proc.wait()

    def _finish(self, party: _Running) -> PartyResult:
        self._stop(party)
        status = b""
        with contextlib.suppress(OSError):
            while chunk := os.read(party.status_fd, 65536):
                status += chunk
        match = _EXIT_CODE.search(status)
        exit_code: int | None = int(match.group(1)) if match else None
        reason = party.stderr.text().strip().splitlines()
        if exit_code is None and reason and reason[-1].startswith("bwrap: execvp "):
            # The command itself cannot be executed: the party's fault, reported
            # the way a shell does (127 not found, 126 not executable).
            exit_code = 127 if reason[-1].endswith("No such file or directory") else 126
        if exit_code is None and not (party.killed or party.timed_out):
            raise SandboxError(
                f"bwrap failed (status {party.proc.returncode}): "
                f"{reason[-1] if reason else 'no message'}"
            )
        if party.killed or party.timed_out:
            exit_code = None if not match else exit_code
        return PartyResult(
            exit_code=exit_code,
            timed_out=party.timed_out,
            oom_killed=party.cgroup.oom_killed(),
            stdout=party.stdout.text(),
            stderr=party.stderr.text(),
            output_truncated=party.stdout.truncated or party.stderr.truncated,
            wall_seconds=(party.ended or time.monotonic()) - party.started,
        )


__all__ = ["BwrapBackend"]
