"""Prove an exercise is fair and sharp.

Fair: the reference solution passes every hidden test on every repetition (each with
its own seed) and passes the visible tests. Sharp: the starter fails hidden tests of
every task and scores under the manifest's threshold; each mutant scores lower than
the reference on the criterion it names. Flaky tests (outcome changed between
repetitions) are reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rubrics import score

from .catalog import Exercise
from .runner import RunnerError, SuiteResult, run_hidden, run_visible

Out = Callable[[str], None]


@dataclass
class CheckResult:
    slug: str
    problems: list[str] = field(default_factory=list)
    flaky: list[str] = field(default_factory=list)
    hidden_wall_seconds: list[float] = field(default_factory=list)  # reference runs
    total_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and not self.flaky


def _failed(suite: SuiteResult) -> list[str]:
    return [t["id"] for t in suite.report["tests"] if t["outcome"] != "passed"]


def check_exercise(
    exercise: Exercise,
    *,
    repeat: int = 1,
    backend: str | None = None,
    out: Out = print,
) -> CheckResult:
    """Run every check; `out` receives one progress line at a time."""
    result = CheckResult(exercise.slug)
    started = time.monotonic()
    out(f"== {exercise.slug}  (version {exercise.version_hash}, rubric {exercise.rubric.version})")
    out("manifest and rubric: valid")

    def problem(text: str) -> None:
        result.problems.append(text)
        out(f"FAIL {text}")

    def hidden(files: dict[str, bytes], label: str, seed: int | None = None) -> SuiteResult | None:
        try:
            return run_hidden(exercise, files, backend=backend, seed=seed)
        except RunnerError as exc:
            problem(f"{label}: no report: {exc}")
            return None

    solution = exercise.solution_files()
    history: dict[str, set[str]] = {}
    for i in range(repeat):
        seed = exercise.seed + i
        suite = hidden(solution, f"reference run {i + 1}", seed)
        if suite is None:
            continue
        result.hidden_wall_seconds.append(suite.wall_seconds)
        for tid, outcome in suite.outcomes().items():
            history.setdefault(tid, set()).add(outcome)
        failed = _failed(suite)
        status = "ok" if not failed else f"FAILED {', '.join(failed)}"
        out(
            f"reference hidden run {i + 1}/{repeat} (seed {seed}): "
            f"{len(suite.report['tests'])} tests, {suite.wall_seconds:.2f} s, {status}"
        )
        if failed:
            problem(f"reference fails hidden tests on run {i + 1}: {', '.join(failed)}")
    result.flaky = sorted(tid for tid, seen in history.items() if len(seen) > 1)
    for tid in result.flaky:
        out(f"FLAKY {tid}: {sorted(history[tid])}")
    reference_card = score(
        exercise.rubric, {"tests": [{"id": t, "outcome": "passed"} for t in history]}, None
    )
    del reference_card  # only the full-marks baseline matters: every automated criterion at max

    try:
        visible = run_visible(exercise, solution, backend=backend)
        failed = _failed(visible)
        out(
            f"reference visible tests: {len(visible.report['tests'])} tests, "
            f"{visible.wall_seconds:.2f} s, {'ok' if not failed else 'FAILED ' + ', '.join(failed)}"
        )
        if failed:
            problem(f"reference fails visible tests: {', '.join(failed)}")
    except RunnerError as exc:
        problem(f"visible tests on the reference: no report: {exc}")

    starter = hidden(exercise.starter_files(), "starter")
    if starter is not None:
        card = score(exercise.rubric, starter.report)
        out(
            f"starter: overall {card.overall}, failed {len(_failed(starter))} "
            f"of {len(starter.report['tests'])} hidden tests"
        )
        if card.overall is None or card.overall >= exercise.starter_max_overall:
            problem(
                f"starter scores {card.overall}, expected under {exercise.starter_max_overall:g}"
            )
        failing = {t["criterion"] for t in starter.report["tests"] if t["outcome"] != "passed"}
        for task in exercise.tasks:
            if not failing & set(task.criteria):
                problem(
                    f"starter passes every hidden test of task {task.id!r} "
                    f"({', '.join(task.criteria)})"
                )

    for mutant in exercise.mutants:
        suite = hidden(exercise.mutant_files(mutant.name), f"mutant {mutant.name}")
        if suite is None:
            continue
        crit = score(exercise.rubric, suite.report).criterion(mutant.criterion)
        verdict = "ok" if crit.score is not None and crit.score < crit.max else "NOT CAUGHT"
        out(
            f"mutant {mutant.name}: {mutant.criterion} {crit.score}/{crit.max} "
            f"{verdict} ({crit.note})"
        )
        if verdict != "ok":
            problem(
                f"mutant {mutant.name} does not lose points on {mutant.criterion} ({crit.note})"
            )

    result.total_seconds = round(time.monotonic() - started, 2)
    walls = result.hidden_wall_seconds
    if walls:
        out(
            f"timings: reference hidden run min {min(walls):.2f} s, max {max(walls):.2f} s, "
            f"mean {sum(walls) / len(walls):.2f} s; check total {result.total_seconds:.1f} s"
        )
    out(f"{exercise.slug}: {'OK' if result.ok else 'FAILED'}")
    return result
