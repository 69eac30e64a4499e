"""Grade a set of candidate files: hidden suite in the sandbox, then the rubric."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rubrics import Scorecard, score

from .catalog import Exercise, Files, read_tree
from .runner import SuiteResult, run_hidden


@dataclass
class GradeResult:
    exercise: Exercise
    scorecard: Scorecard
    suite: SuiteResult

    def to_json(self) -> dict[str, Any]:
        """The `grade --json` object; `scorecard` is the full, re-scorable scorecard."""
        card = self.scorecard
        return {
            "exercise": self.exercise.slug,
            "exercise_version": self.exercise.version_hash,
            "rubric_version": card.rubric_version,
            "overall": card.overall,
            "complete": card.complete,
            "unrated": card.unrated,
            "criteria": [
                {
                    "id": c.id,
                    "title": c.title,
                    "source": c.source,
                    "score": c.score,
                    "max": c.max,
                    "level": c.level,
                    "weight": c.weight,
                    "note": c.note,
                    "evidence": [
                        {"test_id": e.test_id, "outcome": e.outcome, "text": e.text}
                        for e in c.evidence
                    ],
                }
                for c in card.criteria
            ],
            "tests": [
                {k: t[k] for k in ("id", "title", "outcome", "criterion", "duration")}
                for t in card.tests
            ],
            "backend": self.suite.backend,
            "wall_seconds": self.suite.wall_seconds,
            "scorecard": card.to_dict(),
        }


def grade_files(
    exercise: Exercise,
    files: Mapping[str, bytes],
    *,
    backend: str | None = None,
    ratings: Mapping[str, int] | None = None,
    seed: int | None = None,
    on_line: Callable[[str], None] | None = None,
) -> GradeResult:
    """Run the hidden suite on `files` and score it. Infrastructure failures raise
    (runner.RunnerError, sandbox.SandboxError); the candidate's failures are scored."""
    suite = run_hidden(exercise, files, backend=backend, seed=seed, on_line=on_line)
    started = time.monotonic()
    card = score(exercise.rubric, suite.report, ratings)
    suite.timings["score"] = round(time.monotonic() - started, 4)
    return GradeResult(exercise, card, suite)


def grade_dir(exercise: Exercise, directory: Path | str, **kwargs: Any) -> GradeResult:
    files: Files = read_tree(Path(directory))
    if not files:
        raise FileNotFoundError(f"no files under {directory}")
    return grade_files(exercise, files, **kwargs)


def format_scorecard(result: GradeResult) -> str:
    """The scorecard as plain text for a terminal."""
    card = result.scorecard
    overall = "n/a" if card.overall is None else f"{card.overall:.1f}"
    lines = [
        f"{result.exercise.title} ({result.exercise.slug})  overall {overall}/100"
        + ("" if card.complete else f"  (unrated: {', '.join(card.unrated)})"),
        f"rubric {card.rubric_version}  exercise {result.exercise.version_hash}  "
        f"backend {result.suite.backend}  {result.suite.wall_seconds:.1f} s",
        "",
    ]
    for c in card.criteria:
        value = "  -" if c.score is None else f"{c.score:.2f}".rstrip("0").rstrip(".")
        lines.append(f"{c.title}: {value}/{c.max}  (weight {c.weight:g}; {c.note})")
        if c.level_text:
            lines.append(f"    level {c.level}: {c.level_text}")
        for e in c.evidence:
            lines.append(f"    [{e.outcome:7}] {e.text}")
    if card.unmatched_tests:
        lines.append(f"tests with no rubric criterion: {', '.join(card.unmatched_tests)}")
    return "\n".join(lines)


def profile_lines(result: GradeResult, measured: float) -> list[str]:
    """Where a grading's `measured` seconds went, and the suite's physical floor.

    The floor is what no scheduling can beat: the app's boot plus the longest single
    test. Tests of several workers overlap, so their durations add up to more than
    the time they took.
    """
    suite = result.suite
    summary = suite.report.get("summary", {})
    tests = sorted(suite.report.get("tests", []), key=lambda t: -float(t.get("duration", 0)))
    boot = summary.get("app_boot")
    in_pytest = summary.get("duration")
    longest = float(tests[0].get("duration", 0)) if tests else 0.0
    sandbox_s = suite.timings.get("sandbox", suite.wall_seconds)
    lines = [
        f"profile: {result.exercise.slug}, backend {suite.backend}, "
        f"{summary.get('workers', 1)} worker(s), {len(tests)} tests"
    ]

    def row(what: str, seconds: float | None, note: str = "") -> None:
        value = "     -" if seconds is None else f"{seconds:6.2f}"
        lines.append(f"  {what:34s}{value} s{('  ' + note) if note else ''}")

    if in_pytest is not None:
        row("sandbox set-up, pytest start, stop", sandbox_s - float(in_pytest))
        row("app boot (until it answered)", boot, "from the plugin's start")
        row("tests after the boot", float(in_pytest) - float(boot or 0))
    else:
        row("sandbox run (no timings: no report file)", sandbox_s)
    row("report parsing", suite.timings.get("parse"))
    row("scoring", suite.timings.get("score"))
    row(
        "other (loading the files, the platform)",
        measured - sandbox_s - suite.timings.get("parse", 0) - suite.timings.get("score", 0),
    )
    row("measured", measured)
    row("floor: app boot + longest test", None if boot is None else float(boot) + longest)
    lines.append(
        f"  each test's wall time (sum {sum(float(t.get('duration', 0)) for t in tests):.2f} s):"
    )
    for t in tests:
        lines.append(
            f"    {float(t.get('duration', 0)):6.2f} s  {t.get('outcome', ''):7s} {t.get('id')}"
        )
    return lines
