"""Reads of runs and scorecards for the room, the console and the review pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from grading.models import TestRun
from grading.progress import run_view, submission_view
from grading.score_text import scorecard_texts
from interviews.models import Interview

# A run still "running" with no heartbeat for longer than the grading task's
# hard time limit has no worker left: nothing will ever finish it.
LOST_AFTER = timedelta(seconds=300)


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
    """The latest scorecard as the console shows it (without the rubric and report)."""
    scorecard = interview.scorecards.select_related("test_run").first()
    if scorecard is None:
        return None
    return scorecard_texts(
        {
            "overall": scorecard.overall,
            "rubric_version": scorecard.rubric_version,
            "updated_at": scorecard.updated_at.isoformat(),
            **scorecard.card.to_dict(sources=False),
        }
    )


def run_is_lost(run: TestRun) -> bool:
    if run.state != TestRun.State.RUNNING:
        return False
    beat = run.heartbeat_at or run.started_at
    return beat is None or timezone.now() - beat > LOST_AFTER


def _grading_in_flight() -> Exists:
    alive = Q(state=TestRun.State.QUEUED) | Q(
        state=TestRun.State.RUNNING, heartbeat_at__gt=timezone.now() - LOST_AFTER
    )
    runs = TestRun.objects.filter(alive, interview=OuterRef("pk"), kind=TestRun.Kind.HIDDEN)
    return Exists(runs)


def stuck_interviews() -> QuerySet[Interview]:
    """Ended interviews that nothing is grading: they wait for someone to "grade again"."""
    return (
        Interview.objects.filter(state=Interview.State.ENDED)
        .filter(~_grading_in_flight())
        .select_related("exercise")
        .order_by("ended_at")
    )


def grading_stuck(interview: Interview) -> bool:
    return stuck_interviews().filter(pk=interview.pk).exists()
