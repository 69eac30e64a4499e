"""UNSAFE development backend: runs a RunSpec as plain host subprocesses.

NO ISOLATION: the candidate's code runs as you, with your files and network.
Only for authoring exercises on a machine without bubblewrap or Docker, with
trusted code (solutions, mutants); never the default, never for candidates.
Selected only by the explicit backend name "local".
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

OUTPUT_CAP = 256 * 1024


def _materialise(root: Path, files: Any) -> None:
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def _env(base: Path, extra: Any) -> dict[str, str]:
    # The sandbox runtime's python3 has fastapi & co.; on the host that is this venv.
    shim = base / "bin"
    shim.mkdir(exist_ok=True)
    (shim / "python3").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (shim / "python3").chmod(0o755)
    env = {
        "PATH": f"{shim}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(base),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(extra)
    return env


def _pump(stream: IO[bytes], sink: list[str], on_line: Any) -> None:
    size = 0
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace")
        if size < OUTPUT_CAP:
            sink.append(line)
            size += len(line)
        if on_line is not None:
            on_line(line.rstrip("\n"))


def run_unsafe_local(spec: Any) -> Any:
    import json

    from sandbox.spec import PartyResult, RunResult

    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="faultline-local-"))
    try:
        app_dir, tester_dir, report_dir = base / "workspace", base / "tester", base / "report"
        for d in (app_dir, tester_dir, report_dir):
            d.mkdir()
        _materialise(app_dir, spec.app.files)
        wall = spec.limits.wall_seconds

        def launch(
            party: Any, cwd: Path, extra: dict[str, str], on_line: Any
        ) -> tuple[Any, list[str], Any]:
            out: list[str] = []
            proc = subprocess.Popen(
                party.command,
                cwd=cwd,
                env=_env(base, {**party.env, **extra}),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            assert proc.stdout is not None
            pump = threading.Thread(target=_pump, args=(proc.stdout, out, on_line), daemon=True)
            pump.start()
            return proc, out, pump

        def finish(proc: Any, pump: Any, out: list[str], t0: float, timed_out: bool) -> PartyResult:
            pump.join(timeout=5)
            return PartyResult(
                exit_code=proc.returncode,
                timed_out=timed_out,
                oom_killed=False,
                stdout="".join(out),
                stderr="",
                output_truncated=False,
                wall_seconds=round(time.monotonic() - t0, 3),
            )

        def stop(proc: Any) -> None:
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, 9)
                    proc.wait()

        t0 = time.monotonic()
        if spec.tester is None:
            proc, out, pump = launch(spec.app, app_dir, {}, spec.on_line)
            timed_out = False
            try:
                proc.wait(timeout=wall)
            except subprocess.TimeoutExpired:
                timed_out = True
            stop(proc)
            return RunResult(
                "local",
                finish(proc, pump, out, t0, timed_out),
                wall_seconds=time.monotonic() - started,
            )

        _materialise(tester_dir, spec.tester.files)
        app, app_out, app_pump = launch(spec.app, app_dir, {}, None)
        t1 = time.monotonic()
        tester, t_out, t_pump = launch(
            spec.tester, tester_dir, {"FAULTLINE_REPORT_DIR": str(report_dir)}, spec.on_line
        )
        timed_out = False
        try:
            tester.wait(timeout=wall)
        except subprocess.TimeoutExpired:
            timed_out = True
        stop(tester)
        stop(app)
        report, error = None, None
        try:
            report = json.loads((report_dir / "report.json").read_text())
        except (OSError, ValueError) as exc:
            error = f"report.json unreadable: {exc}"
        return RunResult(
            "local",
            finish(app, app_pump, app_out, t0, False),
            finish(tester, t_pump, t_out, t1, timed_out),
            report=report,
            report_error=error,
            wall_seconds=time.monotonic() - started,
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)
