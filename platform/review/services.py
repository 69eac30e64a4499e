"""Workflows of the review: recording a hiring manager's decision."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from interviews import events
from interviews.models import Interview, TimelineEvent
from review.models import Decision

MAX_COMMENT_CHARS = 4000


class DecisionError(Exception):
    """A decision cannot be recorded; the message is for the hiring manager."""


def decision_record(
    *, interview: Interview, outcome: str, comment: str, decided_by: User
) -> Decision:
    """Record advance/hold/reject on a graded interview and move it to reviewed.

    A reviewed interview can be decided again (the newest decision stands, the
    older ones stay in the record); an interview that is not graded cannot.
    """
    if outcome not in Decision.Outcome.values:
        raise DecisionError("Choose advance, hold or reject.")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise DecisionError(f"The comment is longer than {MAX_COMMENT_CHARS} characters.")
    with transaction.atomic():
        # The row lock makes the state check and the move one step: two managers
        # deciding at once both land as decisions, and the move happens once.
        locked = Interview.objects.select_for_update().get(pk=interview.pk)
        if locked.state == Interview.State.GRADED:
            locked.transition(Interview.State.REVIEWED)
        elif locked.state != Interview.State.REVIEWED:
            raise DecisionError(
                f"This interview is {locked.get_state_display().lower()}: "
                "a decision needs a graded scorecard."
            )
        scorecard = locked.scorecards.first()
        decision = Decision.objects.create(
            interview=locked,
            outcome=outcome,
            comment=comment,
            decided_by=decided_by,
            scorecard=scorecard,
            overall=scorecard.overall if scorecard else None,
            rubric_version=scorecard.rubric_version if scorecard else "",
        )
        events.record(
            locked,
            TimelineEvent.Kind.DECISION,
            actor=decided_by.get_username(),
            audience=TimelineEvent.Audience.STAFF,
            data={
                "decision": decision.pk,
                "outcome": outcome,
                "comment": comment,
                "overall": decision.overall,
            },
        )
    interview.state = locked.state
    return decision
