"""Grade a set of candidate files: hidden suite in the sandbox, then the rubric."""

from __future__ import annotations

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
    return GradeResult(exercise, score(exercise.rubric, suite.report, ratings), suite)


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
