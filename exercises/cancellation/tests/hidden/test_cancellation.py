"""Hidden tests: when the reader leaves or presses Stop, all the work stops (tasks 1 and 2)."""

import pytest
from answer_stream import (
    CANCEL_BOUND_SECONDS,
    NOTE,
    assert_tasks_back_to,
    settled_task_count,
    wait_for_note_calls,
)
from faultkit import hang, reply

LONG_ANSWER = " ".join(f"word{i}" for i in range(60))


def open_calls(provider):
    return [r for r in provider.requests if r.finished_at is None]


def assert_all_cancelled(provider, since, when):
    """Every provider call still open at `since` was cut off by the app within the bound."""
    provider.wait_until(lambda rs: all(r.finished_at is not None for r in rs), CANCEL_BOUND_SECONDS)
    still_open = open_calls(provider)
    assert not still_open, (
        f"{len(still_open)} of {len(provider.requests)} provider call(s) were still open "
        f"{CANCEL_BOUND_SECONDS:.0f} s after {when}"
    )
    for record in provider.requests:
        if record.finished_at is not None and record.finished_at >= since:
            assert record.outcome == "disconnected", (
                f"provider call {record.id} ended as {record.outcome!r} after {when}, "
                "instead of being cut off by the app"
            )


@pytest.mark.criterion("cancellation-and-cleanup", fails_to=1)
@pytest.mark.spec("stop.calls")
def test_leaving_cancels_every_note_call(provider, open_stream):
    """closing the tab while papers are read cancels every parallel provider call within 2 s"""
    provider.script(default=hang())
    stream = open_stream(["p1", "p2", "p3"])
    stream.until("created")
    wait_for_note_calls(provider, 3)
    since = provider.now()
    stream.close()
    assert_all_cancelled(provider, since, "the tab closed")


@pytest.mark.criterion("cancellation-and-cleanup", fails_to=0)
@pytest.mark.spec("stop.calls")
def test_leaving_cancels_the_synthesis_stream(provider, open_stream):
    """closing the tab mid-answer cancels the streaming provider call within 2 s"""
    provider.script(reply(LONG_ANSWER, per_token=0.2).when(contains=NOTE), default=reply(NOTE))
    stream = open_stream(["p1", "p2"])
    stream.until("token")
    since = provider.now()
    stream.close()
    assert_all_cancelled(provider, since, "the tab closed")
    synthesis = [r for r in provider.requests if NOTE in str(r.body)]
    assert len(synthesis) == 1 and synthesis[0].chunks_sent < len(LONG_ANSWER.split())


@pytest.mark.criterion("cancellation-and-cleanup", fails_to=2)
@pytest.mark.spec("stop.nothing-running")
def test_leaving_leaves_no_task_running(app, provider, open_stream):
    """leaves no task running after the tab closes"""
    baseline = settled_task_count(app)
    provider.script(default=hang())
    stream = open_stream(["p1", "p2", "p3"])
    stream.until("created")
    wait_for_note_calls(provider, 3)
    stream.close()
    assert_tasks_back_to(app, baseline, "after the tab closed")


@pytest.mark.criterion("cancellation-and-cleanup", fails_to=2)
@pytest.mark.spec("many.nothing-behind")
def test_finished_answers_leave_no_task_running(app, provider, open_stream):
    """leaves no task running after answers complete normally (no task leaked per request)"""
    baseline = settled_task_count(app)
    provider.script(default=reply("A short note."))
    for _ in range(3):
        stream = open_stream(["p1", "p2"])
        stream.read_to_end()
        assert "done" in stream.names(), f"the answer did not complete: {stream.names()}"
        stream.close()
    assert_tasks_back_to(app, baseline, "after three answers completed")


@pytest.mark.criterion("cancellation-and-cleanup", fails_to=1)
@pytest.mark.spec("button.running")
def test_stop_cancels_every_provider_call(app, provider, open_stream):
    """Stop (POST /api/answers/{id}/cancel) cancels every provider call and ends the stream"""
    provider.script(default=hang())
    stream = open_stream(["p1", "p2", "p3"])
    answer_id = stream.until("created")["id"]
    wait_for_note_calls(provider, 3)
    since = provider.now()
    response = app.post(f"/api/answers/{answer_id}/cancel")
    assert response.status_code == 200, f"cancel answered {response.status_code}: {response.text}"
    assert_all_cancelled(provider, since, "Stop")
    stream.read_to_end()
    assert stream.names()[-1:] == ["cancelled"], (
        f"the stream should end with a cancelled event, got {stream.names()}"
    )


@pytest.mark.criterion("cancellation-and-cleanup", fails_to=1)
@pytest.mark.spec("button.running")
def test_stop_during_synthesis_ends_with_cancelled(app, provider, open_stream):
    """Stop mid-answer cuts the provider stream; the answer stream ends cancelled, not done"""
    provider.script(reply(LONG_ANSWER, per_token=0.2).when(contains=NOTE), default=reply(NOTE))
    stream = open_stream(["p1"])
    answer_id = stream.until("created")["id"]
    stream.until("token")
    since = provider.now()
    response = app.post(f"/api/answers/{answer_id}/cancel")
    assert response.status_code == 200, f"cancel answered {response.status_code}: {response.text}"
    assert_all_cancelled(provider, since, "Stop")
    stream.read_to_end()
    assert "done" not in stream.names(), f"a stopped answer was reported done: {stream.names()}"
    assert stream.names()[-1:] == ["cancelled"], (
        f"the stream should end with a cancelled event, got {stream.names()}"
    )


@pytest.mark.criterion("cancellation-and-cleanup", fails_to=2)
@pytest.mark.spec("button.running", "stop.nothing-running")
def test_stop_leaves_no_task_running(app, provider, open_stream):
    """leaves no task running after Stop"""
    baseline = settled_task_count(app)
    provider.script(default=hang())
    stream = open_stream(["p1", "p2", "p3"])
    answer_id = stream.until("created")["id"]
    wait_for_note_calls(provider, 3)
    response = app.post(f"/api/answers/{answer_id}/cancel")
    assert response.status_code == 200, f"cancel answered {response.status_code}: {response.text}"
    stream.read_to_end()
    stream.close()
    assert_tasks_back_to(app, baseline, "after Stop")
