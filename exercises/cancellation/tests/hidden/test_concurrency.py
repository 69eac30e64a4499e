"""Hidden tests: one user's departure or Stop never touches another user's answer."""

import pytest
from answer_stream import QUESTION, get_answer, settled_status
from faultkit import hang, reply

OTHER_ANSWER = " ".join(f"other{i}" for i in range(12))
OTHER_QUESTION = "Is chain-of-thought faithful?"
HARMS_OTHERS = "Cancels another user's answer"
STAYER_QUESTION = "Which evaluation would you trust?"
STAYER_NOTE = "A note for a user who stays."
STAYER_ANSWER = "Short words for everyone here."


def script_other_user(provider):
    """User B's calls are matched by B's question, whatever order they arrive in; B's
    answer holds after three tokens until the test releases it, so B is mid-answer
    when the other user leaves however fast the machine is; everybody else's hang."""
    provider.script(
        # B's synthesis is the call that carries B's note.
        reply(OTHER_ANSWER, hold_after=3).when(contains="B's note."),
        reply("B's note.").when(contains=OTHER_QUESTION),
        default=hang(),
    )


def start_other_user(provider, open_stream):
    """User B asks first; their synthesis is under way (and held) before anyone leaves."""
    stream = open_stream(["p4"], question=OTHER_QUESTION)
    stream.until("created")
    # Critical means another user was harmed: an answer that never starts is not that.
    if not provider.wait_until(lambda rs: any("B's note." in str(r.body) for r in rs), timeout=5):
        pytest.skip("user B's synthesis call never started: judged by other tests")
    return stream


def assert_other_user_finished(app, provider, other):
    provider.release()
    other.read_to_end()
    assert other.names()[-1:] == ["done"], f"user B's answer did not finish: {other.names()}"
    tokens = "".join(data["text"] for name, data in other.events if name == "token")
    assert tokens == OTHER_ANSWER, f"user B's answer was cut short: {tokens!r}"
    assert get_answer(app, other.id)["status"] == "complete"
    b_calls = [r for r in provider.requests if OTHER_QUESTION in str(r.body)]
    assert all(r.outcome == "completed" for r in b_calls), (
        f"user B's provider calls ended as {[r.outcome for r in b_calls]}"
    )


@pytest.mark.criterion("concurrency", fails_to=0)
@pytest.mark.spec("many.isolated", "stop.others")
@pytest.mark.critical(HARMS_OTHERS)
def test_leaving_does_not_touch_other_users(app, provider, open_stream):
    """when one user closes the tab, another user's answer still streams to the end"""
    script_other_user(provider)
    other = start_other_user(provider, open_stream)
    leaver = open_stream(["p1", "p2"])
    leaver.until("created")
    if not provider.wait_until(lambda rs: len(rs) >= 4, timeout=5):
        pytest.skip("the leaver's provider calls never started: judged by other tests")
    leaver.close()
    # Once the leaver's answer has stopped, whatever the app cancels has been cancelled.
    settled_status(app, leaver.id)
    assert_other_user_finished(app, provider, other)


@pytest.mark.criterion("concurrency", fails_to=0)
@pytest.mark.spec("many.isolated")
@pytest.mark.critical(HARMS_OTHERS)
def test_stop_does_not_touch_other_users(app, provider, open_stream):
    """when one user presses Stop, another user's answer still streams to the end"""
    script_other_user(provider)
    other = start_other_user(provider, open_stream)
    stopper = open_stream(["p1", "p2"])
    answer_id = stopper.until("created")["id"]
    if not provider.wait_until(lambda rs: len(rs) >= 4, timeout=5):
        pytest.skip("the stopper's provider calls never started: judged by other tests")
    response = app.post(f"/api/answers/{answer_id}/cancel")
    if response.status_code != 200:
        pytest.skip(f"Stop answered {response.status_code}: judged by the Stop tests")
    assert_other_user_finished(app, provider, other)


@pytest.mark.criterion("concurrency", fails_to=2)
@pytest.mark.spec("many.isolated", "stop.others")
def test_six_users_three_leave(app, provider, open_stream):
    """with six users at once, exactly the three who close the tab are cancelled"""
    provider.script(
        # The stayers' answers hold after a word until the leavers are gone, so all six
        # are under way at once; the leavers' calls hang until cancelled.
        reply(STAYER_ANSWER, hold_after=1).when(contains=STAYER_NOTE, times=None),
        reply(STAYER_NOTE).when(contains=STAYER_QUESTION, times=None),
        default=hang(),
    )
    streams = [
        open_stream([f"p{i + 1}"], question=STAYER_QUESTION if i % 2 else QUESTION)
        for i in range(6)
    ]
    for stream in streams:
        stream.until("created")
    leavers, stayers = streams[::2], streams[1::2]
    provider.wait_until(lambda rs: sum(STAYER_NOTE in str(r.body) for r in rs) >= 3, timeout=5)
    for stream in leavers:
        stream.close()
    for stream in leavers:
        status = settled_status(app, stream.id)["status"]
        assert status == "cancelled", f"a user who left has an answer stored as {status!r}"
    provider.release()
    for stream in stayers:
        stream.read_to_end()
        assert stream.names()[-1:] == ["done"], f"a user who stayed got {stream.names()}"
        assert get_answer(app, stream.id)["status"] == "complete"


@pytest.mark.criterion("concurrency", fails_to=1)
@pytest.mark.spec("stop.parallel", "many.parallel")
def test_notes_are_fetched_in_parallel(app, provider, open_stream):
    """reads the papers with parallel provider calls, not one after another"""
    provider.script(reply("Answer.").when(contains="Note."), default=reply("Note.", ttft=0.4))
    stream = open_stream(["p1", "p2", "p3"])
    stream.read_to_end()
    assert stream.names()[-1:] == ["done"], stream.names()
    notes = [r for r in provider.requests if "Note." not in str(r.body)][:3]
    first_finished = min(r.finished_at for r in notes)
    assert all(r.started_at < first_finished for r in notes), (
        "the note calls ran one after another: "
        f"{[(round(r.started_at, 2), round(r.finished_at, 2)) for r in notes]}"
    )
