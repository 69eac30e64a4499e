"""Sandbox speed: prints medians, asserts nothing.

    .venv/bin/python benchmarks/sandbox_bench.py [--runs 20] [--backends bwrap,docker]

For each backend: a sandboxed `python3 -c pass` against the same command run
bare, through the Python API; a two-party run of a tiny FastAPI app plus a tiny
pytest test, next to the same two processes run bare; and how many sandboxed runs
per second the machine completes when several are started at once.

Both backends keep pre-started sandboxes for single-party runs
(FAULTLINE_SANDBOX_WARM, default 2): `python3 -c pass` is printed as it runs by
default and with nothing pre-started (a cold start), next to two bare baselines: the system
interpreter, and the very interpreter the sandbox runs (the runtime's venv).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sandbox
from sandbox.backends.bwrap import BwrapBackend
from sandbox.backends.docker_engine import DockerBackend
from sandbox.config import load_config
from sandbox.spec import Limits, Party, RunSpec

APP = b"""
from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
def ping() -> dict[str, bool]:
    return {"ok": True}
"""

TEST = b"""
import json, os, time
import httpx


def test_ping():
    for _ in range(500):
        try:
            response = httpx.get(f"http://127.0.0.1:{os.environ.get('APP_PORT', 8000)}/ping")
            break
        except httpx.TransportError:
            time.sleep(0.01)
    assert response.json() == {"ok": True}
    with open(os.path.join(os.environ["FAULTLINE_REPORT_DIR"], "report.json"), "w") as fh:
        json.dump({"passed": True}, fh)
"""

PASS = RunSpec(app=Party(command=["python3", "-c", "pass"]), limits=Limits(wall_seconds=30))
TWO_PARTY = RunSpec(
    app=Party(
        command=["uvicorn", "main:app", "--port", "8000", "--log-level", "warning"],
        files={"main.py": APP},
    ),
    tester=Party(
        command=["pytest", "-q", "-p", "no:cacheprovider", "test_ping.py"],
        files={"test_ping.py": TEST},
    ),
    limits=Limits(wall_seconds=30),
)


def median_seconds(fn: Callable[[], object], runs: int, pause: float = 0.0) -> float:
    fn()  # warm-up: page cache, image layers, imports
    times = []
    for _ in range(runs):
        time.sleep(pause)
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bare(python: str) -> Callable[[], object]:
    return lambda: subprocess.run([python, "-c", "pass"], check=True)


def bare_two_party(python: str) -> Callable[[], object]:
    """The same two parties as TWO_PARTY, run bare with the sandbox's interpreter."""

    def go() -> object:
        with tempfile.TemporaryDirectory(prefix="faultline-bench-") as tmp:
            (Path(tmp) / "main.py").write_bytes(APP)
            (Path(tmp) / "test_ping.py").write_bytes(TEST)
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = str(probe.getsockname()[1])
            env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "PYTHONDONTWRITEBYTECODE": "1"}
            env.update(APP_PORT=port, FAULTLINE_REPORT_DIR=tmp)
            app_cmd = [
                python,
                "-m",
                "uvicorn",
                "main:app",
                "--port",
                port,
                "--log-level",
                "warning",
            ]
            app = subprocess.Popen(app_cmd, cwd=tmp, env=env)
            try:
                subprocess.run(
                    [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_ping.py"],
                    cwd=tmp,
                    env=env,
                    check=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            finally:
                app.kill()
                app.wait()
        return None

    return go


def sandboxed(spec: RunSpec, backend: str, cold: bool = False) -> Callable[[], object]:
    # A separate backend object with nothing pre-started, for the cold-start figure.
    backend_class = BwrapBackend if backend == "bwrap" else DockerBackend
    runner = backend_class(replace(load_config(), warm=0)) if cold else None

    def go() -> object:
        result = runner.run(spec) if runner else sandbox.run(spec, backend)
        ok = result.app.exit_code == 0 if spec.tester is None else result.report == {"passed": True}
        if not ok:
            raise SystemExit(f"{backend}: run failed: {result}")
        return result

    return go


def throughput(backend: str, total: int, workers: int) -> float:
    run = sandboxed(PASS, backend)
    run()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda _: run(), range(total)))
    return total / (time.perf_counter() - start)


def paired(
    baseline: Callable[[], object], fn: Callable[[], object], runs: int, pause: float = 0.0
) -> tuple[float, float]:
    """Medians of `baseline` and `fn`, timed in alternation: a machine that gets slower
    or faster meanwhile (a shared VM does) then shifts both, not just the ratio."""
    baseline()
    fn()  # warm-up: page cache, image layers, imports
    first: list[float] = []
    second: list[float] = []
    for _ in range(runs):
        for times, call in ((first, baseline), (second, fn)):
            time.sleep(pause)
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
    return statistics.median(first), statistics.median(second)


def against(label: str, base: float, value: float) -> str:
    return (
        f"{label:38} median {value * 1000:7.1f} ms  vs {base * 1000:6.1f} ms bare alongside: "
        f"{value / base:.2f}x, {1000 * (value - base):+.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--backends", default="bwrap,docker")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    system = bare("/usr/bin/python3")
    venv_python = load_config().runtime_dir / "venv" / "bin" / "python3"
    venv = bare(str(venv_python)) if venv_python.exists() else system
    for label, fn in (
        ("bare /usr/bin/python3 -c pass", system),
        ("bare venv python3 -c pass", venv),
    ):
        print(f"{label:38} median {median_seconds(fn, args.runs) * 1000:7.1f} ms")
    two_bare = bare_two_party(str(venv_python)) if venv_python.exists() else None
    for backend in args.backends.split(","):
        status = sandbox.get_backend(backend).status()
        if not status.available:
            print(f"{backend}: unavailable ({status.detail})")
            continue
        # Each figure is timed alternately with the same command run bare.
        # Also runs a while apart, as a candidate clicks "run tests": the pre-started
        # sandbox taken by the last run has been replaced by then (back to back, a
        # Docker run may find none ready), and joining a bwrap cgroup may wait for a
        # kernel RCU grace period, which back-to-back runs share.
        runs = [
            (f"{backend} python3 -c pass", sandboxed(PASS, backend), 0.0),
            (f"{backend} python3 -c pass, cold start", sandboxed(PASS, backend, cold=True), 0.0),
            (f"{backend} python3 -c pass, 0.2 s apart", sandboxed(PASS, backend), 0.2),
            (f"{backend} cold start, 0.2 s apart", sandboxed(PASS, backend, cold=True), 0.2),
        ]
        for label, fn, pause in runs:
            print(against(label, *paired(system, fn, args.runs, pause)))
        if two_bare is not None:
            two = paired(two_bare, sandboxed(TWO_PARTY, backend), args.runs)
            print(against(f"{backend} two-party FastAPI + pytest", *two))
        rate = throughput(backend, total=max(20, args.runs * 2), workers=args.workers)
        print(f"{backend:6} concurrent ({args.workers} at once)        {rate:7.1f} runs/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
