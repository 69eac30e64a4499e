"""Command line: `python -m sandbox {doctor,exec,prepare-runtime,sweep}`.

    python -m sandbox doctor
    python -m sandbox exec --backend bwrap --timeout 5 --workspace DIR -- python3 main.py
        [--memory MB] [--pids N] [--cpu S] [--disk MB] [--output-limit KB] [--env NAME=VALUE]
    python -m sandbox prepare-runtime

`exec` prints one JSON object and exits 0 whenever the sandbox did its job,
whatever the command did; it exits 2 with a one-line reason on stderr when the
sandbox itself could not run (unavailable backend, bad arguments, refused input).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
from collections.abc import Sequence

import sandbox
from sandbox.config import BACKEND_NAMES, load_config
from sandbox.inputs import read_workspace
from sandbox.spec import InputRejected, Limits, Party, RunSpec, SandboxError

EXIT_SANDBOX_FAILED = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line on stderr and exit 2, as for every other refusal.
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_SANDBOX_FAILED)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m sandbox", description="Faultline sandbox")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    doctor = sub.add_parser("doctor", help="list the backends and whether each is usable")
    doctor.add_argument("--json", action="store_true", help="print JSON instead of text")
    doctor.add_argument(
        "--require",
        choices=BACKEND_NAMES,
        default=None,
        metavar="BACKEND",
        help="exit 1 unless this backend is usable (what `make run` checks before serving)",
    )
    ex = sub.add_parser("exec", help="run a command in a sandbox and print a JSON result")
    ex.add_argument("--backend", choices=BACKEND_NAMES, default=None)
    ex.add_argument("--timeout", type=float, default=10.0, help="wall seconds (default 10)")
    ex.add_argument("--memory", type=int, default=256, help="memory limit in MB (default 256)")
    ex.add_argument("--pids", type=int, default=64, help="process limit (default 64)")
    ex.add_argument("--cpu", type=float, default=None, help="CPU seconds (default: --timeout)")
    ex.add_argument("--disk", type=int, default=64, help="writable space in MB (default 64)")
    ex.add_argument(
        "--output-limit", type=int, default=256, help="KB kept per stream (default 256)"
    )
    ex.add_argument("--workspace", default=None, help="directory copied into the working dir")
    ex.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a variable in the command's environment (repeatable; nothing is inherited)",
    )
    ex.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD [ARG...]")
    prep = sub.add_parser("prepare-runtime", help="build the bwrap runtime venv (idempotent)")
    prep.add_argument("--force", action="store_true", help="rebuild even when up to date")
    sub.add_parser("sweep", help="remove what crashed runs left behind")
    return parser


def _doctor(as_json: bool, require: str | None = None) -> int:
    statuses = sandbox.doctor()
    default = load_config().default_backend
    if as_json:
        print(json.dumps([dataclasses.asdict(s) for s in statuses], indent=2))
    else:
        for st in statuses:
            mark = "ok  " if st.available else "FAIL"
            tag = " (default)" if st.name == default else ""
            print(f"{mark} {st.name}{tag}: {st.detail}")
    if require is not None:
        wanted = next(st for st in statuses if st.name == require)
        sys.stdout.flush()  # the status lines stand before a failure's line, piped too
        problem = None if not wanted.available else _trial_run(require)
        if not wanted.available or problem:
            # Gradings would only fail later, one "infrastructure error" at a time.
            print(f"the {require} sandbox cannot run here: {problem or wanted.detail}",
                  file=sys.stderr)  # fmt: skip
            return 1
        print(f"ok   {require}: a trial run started, ran and was removed")
        return 0
    return 0 if any(st.available for st in statuses) else 1


def _trial_run(backend: str) -> str | None:
    """Run one tiny program in the sandbox; what went wrong, or None.

    The status checks read the machine (tools, root, cgroups); only a run proves the
    kernel lets this process mount, unshare and switch users here (an unprivileged
    container passes every check and then cannot mount a tmpfs).
    """
    spec = RunSpec(
        app=Party(command=["python3", "-c", "print('sandbox ok')"]),
        limits=Limits(wall_seconds=30, cpu_seconds=10),
    )
    try:
        result = sandbox.run(spec, backend)
    except SandboxError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if backend == "bwrap" and "not permitted" in reason:
            reason += (" (bubblewrap needs root with CAP_SYS_ADMIN: run on the host or in a"
                       " --privileged container, or use SANDBOX_BACKEND=docker)")  # fmt: skip
        return reason
    if result.app.exit_code != 0 or "sandbox ok" not in result.app.stdout:
        tail = (result.app.stderr or result.app.stdout).strip().splitlines()[-1:]
        return f"a trial run exited {result.app.exit_code}: {' '.join(tail) or 'no output'}"
    return None


def _exec(args: argparse.Namespace) -> int:
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise InputRejected("no command given: python -m sandbox exec [OPTIONS] -- CMD [ARG...]")
    limits = Limits(
        wall_seconds=args.timeout,
        cpu_seconds=args.timeout if args.cpu is None else args.cpu,
        memory_mb=args.memory,
        pids=args.pids,
        disk_mb=args.disk,
        output_bytes=args.output_limit * 1024,
    )
    env = {}
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InputRejected(f"--env {item!r}: expected NAME=VALUE")
        env[name] = value
    files = read_workspace(args.workspace, limits) if args.workspace else {}
    party = Party(command=cmd, files=files, env=env)
    # One run, then this process exits: a sandbox pre-started for the next would be waste.
    os.environ["FAULTLINE_SANDBOX_WARM"] = "0"
    result = sandbox.run(RunSpec(app=party, limits=limits), args.backend)
    out = dataclasses.asdict(result.app)
    out.update(backend=result.backend, run_id=result.run_id)
    print(json.dumps(out))
    return 0


class _Interrupted(BaseException):  # as KeyboardInterrupt: no `except Exception` stops it
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _interrupt(signum: int, _frame: object) -> None:
    raise _Interrupted(signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "doctor":
            return _doctor(args.json, args.require)
        if args.command == "exec":
            # Ctrl-C or a TERM stops the run the normal way: its cleanup runs, one line says so.
            signal.signal(signal.SIGINT, _interrupt)
            signal.signal(signal.SIGTERM, _interrupt)
            try:
                return _exec(args)
            except _Interrupted as stop:
                print(f"interrupted ({stop}): the run was stopped and removed", file=sys.stderr)
                return 128 + stop.signum
        if args.command == "prepare-runtime":
            from sandbox.runtime import prepare_runtime

            prepare_runtime(load_config().runtime_dir, force=args.force)
            return 0
        if args.command == "sweep":
            total = 0
            for st in sandbox.doctor():
                if st.available:
                    total += sandbox.get_backend(st.name).sweep()
            print(f"removed {total} stale sandbox resources")
            return 0
    except (InputRejected, SandboxError) as exc:
        kind = "input refused" if isinstance(exc, InputRejected) else "sandbox unavailable"
        if isinstance(exc, SandboxError) and not isinstance(exc, sandbox.SandboxUnavailable):
            kind = "sandbox error"
        print(f"{kind}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
              file=sys.stderr)  # fmt: skip
        return EXIT_SANDBOX_FAILED
    return EXIT_SANDBOX_FAILED


if __name__ == "__main__":
    sys.exit(main())
