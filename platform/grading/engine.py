"""The bridge from the platform to the plain-Python exercise runner and rubric engine.

Everything Django-specific stops here: the runner gets files and a slug, and
returns test outcomes; the scorer gets a rubric, a report and ratings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from interviews.models import Exercise


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

    @property
    def result(self) -> dict[str, Any]:
        return {
            "report": self.report,
            "summary": self.summary,
            "output": self.output,
            "sandbox": self.sandbox,
        }


def run_suite(
    *,
    exercise: Exercise,
    kind: str,
    files: dict[str, str],
    on_test: Callable[[dict[str, Any]], None] | None = None,
) -> SuiteOutcome:
    raise EngineInfrastructureError("exercise runner not wired yet")


def score(
    rubric: dict[str, Any], report: dict[str, Any] | None, ratings: dict[str, int]
) -> dict[str, Any]:
    raise NotImplementedError


def backend() -> str:
    return settings.SANDBOX_BACKEND
