"""Recording a decision: the state move, the record, and who hears about it."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from interviews.events import group_name
from review.models import Decision
from review.services import DecisionError, decision_record

pytestmark = pytest.mark.django_db


def _listen(group: str) -> str:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return channel


def _pending(channel: str) -> list[dict[str, Any]]:
    layer = get_channel_layer()
    got = []
    while layer.channels.get(channel):
        got.append(async_to_sync(layer.receive)(channel))
    return got


def test_decision_reaches_staff_only_after_commit(
    personas, make_graded, django_capture_on_commit_callbacks
):
    interview = make_graded("Riley Reference")
    staff = _listen(group_name(interview.pk, "staff"))
    everyone = _listen(group_name(interview.pk, "all"))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        decision_record(
            interview=interview,
            outcome="advance",
            comment="clean fault handling",
            decided_by=personas["hiring_manager"],
        )
    assert _pending(staff) == []  # nothing announced before the commit
    for callback in callbacks:
        callback()
    [message] = _pending(staff)
    assert message["event"]["kind"] == "decision"
    assert message["event"]["data"]["outcome"] == "advance"
    assert _pending(everyone) == []  # the candidate's group never hears of it
    assert interview.state == "reviewed"
    assert Decision.objects.get().rubric_version == interview.scorecards.get().rubric_version


def test_an_overlong_comment_is_refused(personas, make_graded):
    interview = make_graded("Riley Reference")
    with pytest.raises(DecisionError, match="longer than"):
        decision_record(
            interview=interview,
            outcome="hold",
            comment="x" * 5000,
            decided_by=personas["hiring_manager"],
        )
    interview.refresh_from_db()
    assert interview.state == "graded"
