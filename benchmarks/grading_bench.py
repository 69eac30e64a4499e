#!/usr/bin/env python3
"""Submit -> scorecard stored, through the real pipeline, for each exercise's reference.

    .venv/bin/python benchmarks/grading_bench.py                 # everything below
    .venv/bin/python benchmarks/grading_bench.py latency --mode embedded --runs 10
    .venv/bin/python benchmarks/grading_bench.py latency --exercise job-state,cancellation
    .venv/bin/python benchmarks/grading_bench.py throughput --mode embedded --slots 1,2,4

Latency: p50/p95 per exercise beside its floor (the app's boot plus the suite's longest
single test, from the graded reports: what no scheduling can beat). Throughput: the
slowest exercise (or --throughput-exercise) at each slot count.

Embedded mode: SQLite in a temporary folder, the in-process pool, bubblewrap.
Production mode: PostgreSQL (database faultline_bench), Redis, real Celery worker
processes, Docker sandboxes. Each submission changes one comment so every run
is a new snapshot (identical files are graded only once, by design).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROD_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/faultline_bench",
    "REDIS_URL": "redis://127.0.0.1:6379/13",
    "SECRET_KEY": "bench-only",
    "SANDBOX_BACKEND": "docker",
}
EXERCISES = ["add-metadata", "cancellation", "sync-to-streaming", "job-state"]
SLOWEST = "job-state"  # the most test time; throughput is quoted for it


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _setup_django() -> None:
    sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faultline.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("sync_exercises", verbosity=0, keep_going=True)


def _interview(slug: str):  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import User

    from exercises import catalog
    from interviews import services
    from interviews.models import Exercise, WorkspaceFile

    spec = catalog.find(slug, ROOT / "exercises")
    user, _ = User.objects.get_or_create(username="bench")
    interview, _ = services.interview_create(
        exercise=Exercise.objects.get(slug=slug),
        candidate_name="Bench",
        candidate_email="bench@example.com",
        interviewers=[user],
        created_by=user,
        starter_files={p: d.decode() for p, d in spec.solution_files().items()},
    )
    interview = services.interview_start(interview=interview, actor="bench")
    return interview, WorkspaceFile


def _submit(interview, workspace_file, n: int):  # type: ignore[no-untyped-def]
    from grading import services

    workspace_file.objects.update_or_create(
        interview=interview, path="bench.txt", defaults={"content": f"submission {n}\n"}
    )
    return services.grading_request(interview=interview, requested_by="bench")


def _floor(run_id: int) -> float | None:
    """App boot + longest test of one graded run, from its stored report."""
    from grading.models import Scorecard

    report = Scorecard.objects.select_related("test_run").get(test_run_id=run_id).card.report
    boot = (report.get("summary") or {}).get("app_boot")
    durations = [float(t.get("duration", 0)) for t in report.get("tests", [])]
    return None if boot is None or not durations else float(boot) + max(durations)


def _wait(run_ids: list[int], timeout: float = 600) -> None:
    from grading.models import Scorecard, TestRun

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = Scorecard.objects.filter(test_run_id__in=run_ids).count()
        errors = TestRun.objects.filter(pk__in=run_ids, state="error")
        if errors.exists():
            raise SystemExit(f"infrastructure error: {errors.first().infra_error}")
        if done == len(run_ids):
            return
        time.sleep(0.05)
    raise SystemExit("timed out waiting for scorecards")


def worker(env: dict[str, str], slots: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "faultline",
            "--workdir",
            str(ROOT / "platform"),
            "worker",
            "-Q",
            "faultline",
            "--concurrency",
            str(slots),
            "--without-gossip",
            "--without-mingle",
            "-l",
            "warning",
            "-n",
            f"bench-{os.getpid()}@%h",
        ],
        env={**env, "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}"},
        start_new_session=True,
    )
    time.sleep(4)  # let the pool start; not part of any measurement
    return proc


def child(args: argparse.Namespace) -> None:
    _setup_django()
    interview, wf = _interview(args.exercise)
    proc = worker(dict(os.environ), args.slots) if args.mode == "production" else None
    try:
        if args.what == "latency":
            seconds, floors = [], []
            _wait([_submit(interview, wf, -1).pk])  # warm-up: caches, image layers
            for n in range(args.runs):
                started = time.monotonic()
                run_id = _submit(interview, wf, n).pk
                _wait([run_id])
                seconds.append(time.monotonic() - started)
                floors.append(_floor(run_id))
            known = [f for f in floors if f is not None]
            floor = f"{statistics.median(known):.2f} s" if known else "n/a"
            print(
                f"{args.mode:10s} {args.exercise:18s} submit->scorecard over {args.runs} runs: "
                f"p50 {statistics.median(seconds):.2f} s, p95 {percentile(seconds, 0.95):.2f} s "
                f"(min {min(seconds):.2f}, max {max(seconds):.2f}); floor {floor}",
                flush=True,
            )
        else:
            _wait([_submit(interview, wf, -1).pk])
            started = time.monotonic()
            runs = [_submit(interview, wf, n).pk for n in range(args.runs)]
            _wait(runs)
            elapsed = time.monotonic() - started
            print(
                f"{args.mode:10s} {args.exercise} throughput, {args.slots} slot(s): {args.runs} "
                f"gradings in {elapsed:.1f} s = {60 * args.runs / elapsed:.1f} gradings/minute",
                flush=True,
            )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        from grading import queue

        queue.wait_idle()


def spawn(what: str, mode: str, runs: int, slots: int, exercise: str) -> None:
    with tempfile.TemporaryDirectory(prefix="faultline-bench-") as var:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
        }
        env.update({"FAULTLINE_VAR_DIR": var, "SANDBOX_SLOTS": str(slots), "LOG_LEVEL": "WARNING"})
        if mode == "production":
            env.update(PROD_ENV)
            subprocess.run(["redis-cli", "-n", "13", "flushdb"], capture_output=True)
            subprocess.run(
                ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "faultline_bench"],
                check=True,
            )
            subprocess.run(
                ["createdb", "-h", "127.0.0.1", "-U", "postgres", "faultline_bench"], check=True
            )
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                what,
                "--mode",
                mode,
                "--runs",
                str(runs),
                "--slots",
                str(slots),
                "--exercise",
                exercise,
            ],
            env=env,
            check=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", nargs="?", choices=["latency", "throughput", "all"], default="all")
    parser.add_argument("--mode", choices=["embedded", "production", "both"], default="both")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--slots", default="1,2,4")
    parser.add_argument("--exercise", default="all", help="slugs, comma-separated, or all")
    parser.add_argument(
        "--throughput-exercise", default=SLOWEST, help="the exercise the throughput runs grade"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.slots = int(args.slots)
        child(args)
        return
    modes = ["embedded", "production"] if args.mode == "both" else [args.mode]
    slugs = EXERCISES if args.exercise == "all" else args.exercise.split(",")
    load = os.getloadavg()
    print(
        f"grading benchmark on {os.cpu_count()} cores, "
        f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (noisy when not near 0)"
    )
    for mode in modes:
        if args.what in {"latency", "all"}:
            for slug in slugs:
                spawn("latency", mode, args.runs, 2, slug)
        if args.what in {"throughput", "all"}:
            for slots in [int(s) for s in args.slots.split(",")]:
                spawn(
                    "throughput", mode, max(args.runs, 2 * slots), slots, args.throughput_exercise
                )


if __name__ == "__main__":
    main()
