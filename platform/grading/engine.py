"""The bridge from the platform to the plain-Python exercise runner and rubric engine.

Everything Django-specific stops here: the runner gets an exercise and files
and returns test outcomes; the scorer gets a rubric, a report and ratings.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

import rubrics
from exercises import catalog, runner
from faultline.storable import storable
from interviews.models import Exercise
from sandbox.spec import InputRejected, SandboxError

log = logging.getLogger(__name__)

# Live progress stops here. Each live test costs a database write and a broadcast,
# and in a visible run the candidate's code can print progress lines itself: a
# flood must not become a flood of writes. (Far above any suite; the stored
# result is rebuilt from the report, not from these lines.)
MAX_LIVE_TESTS = 1000


class EngineInfrastructureError(Exception):
    """The sandbox or the runner failed: the platform's fault, not the candidate's."""


@dataclass
class SuiteOutcome:
    passed: bool
    tests: list[dict[str, Any]]
    report: dict[str, Any] | None
    summary: dict[str, Any]
    output: str = ""
    sandbox: dict[str, Any] = field(default_factory=dict)
    # The version of the suite and kit that ran (catalog.exercise_hash of the files
    # on disk at run time), which a run records as its suite_version.
    suite_version: str = ""

    @property
    def result(self) -> dict[str, Any]:
        return {
            "report": self.report,
            "summary": self.summary,
            "output": self.output,
            "sandbox": self.sandbox,
        }


def load_exercise(slug: str) -> catalog.Exercise:
    # Loaded afresh for every run (milliseconds): an author's fix applies to the next run.
    return catalog.find(slug, Path(settings.EXERCISES_DIR))


def live_test_parser(
    on_test: Callable[[dict[str, Any]], None] | None,
) -> Callable[[str], None]:
    """A sandbox line callback that calls `on_test` with each test outcome line."""
    delivered = 0

    def on_line(line: str) -> None:
        nonlocal delivered
        if on_test is None or not line.startswith(runner.LINE_PREFIX):
            return
        if delivered >= MAX_LIVE_TESTS:
            return
        try:
            test = json.loads(line[len(runner.LINE_PREFIX) :])
        except ValueError:
            return  # a garbled progress line only costs a live update, not the result
        if isinstance(test, dict):
            delivered += 1
            try:
                on_test(storable(test))
            except Exception:  # progress must never break the run
                log.exception("progress callback failed")

    return on_line


def run_suite(
    *,
    exercise: Exercise,
    kind: str,
    files: dict[str, str],
    on_test: Callable[[dict[str, Any]], None] | None = None,
    backend: str | None = None,
) -> SuiteOutcome:
    """Run the visible tests or the hidden suite on `files` in the configured sandbox."""
    try:
        spec = load_exercise(exercise.slug)
    except Exception as exc:  # a broken exercise folder is the platform's problem
        raise EngineInfrastructureError(
            f"exercise {exercise.slug!r} cannot be loaded: {exc}"
        ) from exc
    data = {path: text.encode() for path, text in files.items()}
    run = runner.run_hidden if kind == "hidden" else runner.run_visible
    try:
        suite = run(
            spec,
            data,
            backend=backend or settings.SANDBOX_BACKEND,
            on_line=live_test_parser(on_test),
        )
    except InputRejected as exc:
        # The candidate's files were refused before anything ran: their outcome, said plainly.
        return SuiteOutcome(
            passed=False,
            tests=[],
            report=None,
            summary={"rejected": str(exc)},
            output=f"Your files could not be run: {exc}",
            suite_version=spec.version_hash,
        )
    except (SandboxError, runner.RunnerError) as exc:
        # The message may quote the sandbox's output: stored as the run's infra_error.
        raise EngineInfrastructureError(storable(f"{type(exc).__name__}: {exc}")) from exc
    # Everything below came out of the sandbox, and is stored: see faultline.storable.
    report = storable(suite.report)
    tests = list(report.get("tests", []))
    summary = dict(report.get("summary", {}))
    passed = bool(tests) and all(t.get("outcome") in {"passed", "skipped"} for t in tests)
    return SuiteOutcome(
        passed=passed,
        tests=tests,
        report=report,
        summary=summary,
        output=storable(suite.tester_output),
        sandbox={
            "backend": suite.backend,
            "wall_seconds": suite.wall_seconds,
            "exit_code": suite.tester_exit,
            "app_output": storable(suite.app_output),
            "exercise_version": spec.version_hash,
        },
        suite_version=spec.version_hash,
    )


def score(
    rubric: rubrics.Rubric, report: dict[str, Any] | None, ratings: dict[str, int]
) -> rubrics.Scorecard:
    """Score with the rubric as it was stored at grading time (never a newer one)."""
    return rubrics.score(rubric, report or {"tests": []}, ratings)
