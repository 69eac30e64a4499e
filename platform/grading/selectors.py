"""Reads of runs and scorecards for the room, the console and the review pages."""

from __future__ import annotations

from typing import Any

from grading.models import TestRun
from grading.progress import run_view, submission_view
from interviews.models import Interview


def runs_for(interview: Interview, *, staff: bool, limit: int = 10) -> list[dict[str, Any]]:
    """Recent runs as this audience may see them (a late joiner's starting state)."""
    runs = TestRun.objects.filter(interview=interview).order_by("-created_at")[:limit]
    views = []
    for run in runs:
        if run.kind == TestRun.Kind.HIDDEN and not staff:
            views.append(submission_view(run))
        else:
            views.append(run_view(run, staff=staff))
    return views


def scorecard_for(interview: Interview) -> dict[str, Any] | None:
    scorecard = interview.scorecards.first()
    if scorecard is None:
        return None
    return {
        "overall": scorecard.overall,
        "rubric_version": scorecard.rubric_version,
        "updated_at": scorecard.updated_at.isoformat(),
        **scorecard.data,
    }
