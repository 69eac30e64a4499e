"""Live progress of test runs, as the candidate and the staff are allowed to see it.

Visible runs are the candidate's own tests: everyone in the room sees them.
Hidden runs are the grading suite: everything about them goes only to the staff
group; the candidate learns only that their submission was received (see
`submission_view` for why not even its progress).
"""

from __future__ import annotations

from typing import Any

from grading.models import Scorecard, TestRun
from grading.score_text import scorecard_texts
from interviews.events import broadcast


def queue_position(run: TestRun) -> int | None:
    """1 for the next run to start; None when the run is not waiting."""
    if run.state != TestRun.State.QUEUED:
        return None
    ahead = TestRun.objects.filter(state=TestRun.State.QUEUED, created_at__lt=run.created_at)
    return ahead.count() + 1


def run_view(run: TestRun, *, staff: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": run.pk,
        "kind": run.kind,
        "state": run.state,
        "queue_position": queue_position(run),
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "attempts": run.attempts,
        # An infrastructure error is the platform's fault, and says so.
        "infra_error": (
            "The platform could not run the tests; this is not your code's fault. "
            "Try again in a moment."
            if run.state == TestRun.State.ERROR and not staff
            else run.infra_error
        ),
    }
    if run.kind == TestRun.Kind.VISIBLE or staff:
        view["tests"] = run.tests
        view["output"] = run.result.get("output", "")
        view["summary"] = run.result.get("summary", {})
    return view


def submission_view(run: TestRun) -> dict[str, Any]:
    """A hidden run as the candidate may see it: that it was received, and nothing else.

    Not its state, tests, counts, score or error, and not when it finished either:
    the state says whether the hidden suite passed, and its duration says it too
    (a test the code fails by hanging costs that test's timeout), so repeated
    submissions of changed code would make any of these an oracle of the suite.
    """
    return {
        "id": run.pk,
        "kind": TestRun.Kind.HIDDEN.value,
        "received_at": run.created_at.isoformat() if run.created_at else None,
    }


def announce(run: TestRun) -> None:
    """Tell the room where a run is now (after the current transaction commits)."""
    if run.kind == TestRun.Kind.VISIBLE:
        broadcast(run.interview_id, {"kind": "run", "run": run_view(run, staff=False)})
        return
    # Staff only: the candidate's room heard of the submission once, from the
    # timeline's "submitted" event, and hears nothing of its progress.
    broadcast(run.interview_id, {"kind": "run", "run": run_view(run, staff=True)}, audience="staff")


def announce_queue(limit: int = 50) -> None:
    """Tell every waiting run its new place in the queue (a run ahead of it started)."""
    waiting = TestRun.objects.filter(state=TestRun.State.QUEUED).order_by("created_at")[:limit]
    for run in waiting:
        announce(run)


def one_test_finished(run: TestRun, test: dict[str, Any]) -> None:
    audience = "all" if run.kind == TestRun.Kind.VISIBLE else "staff"
    broadcast(
        run.interview_id,
        {"kind": "run.test", "run_id": run.pk, "test": test},
        audience=audience,
    )


def scored(scorecard: Scorecard) -> None:
    broadcast(
        scorecard.interview_id,
        {
            "kind": "scorecard",
            "overall": scorecard.overall,
            "scorecard": scorecard_texts(
                {**scorecard.card.to_dict(sources=False), "overall": scorecard.overall}
            ),
        },
        audience="staff",
    )
