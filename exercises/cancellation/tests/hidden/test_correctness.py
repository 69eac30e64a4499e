"""Hidden tests: the answer stream and the cancel endpoint do what the README says."""

import pytest
from answer_stream import NOTE, get_answer
from faultkit import hang, reply, status

ANSWER = "Retrieval reduces hallucination when passages are relevant [p1] [p3]."


@pytest.mark.criterion("correctness", fails_to=0)
@pytest.mark.spec("stop.stream")
def test_streams_notes_then_answer(app, provider, open_stream):
    """streams created, a note per paper, the answer token by token, then done"""
    provider.script(reply(ANSWER).when(contains=NOTE), default=reply(NOTE))
    stream = open_stream(["p1", "p3"])
    stream.read_to_end()
    names = stream.names()
    assert names[0] == "created" and names[-1] == "done", names
    notes = sorted(data["paper_id"] for name, data in stream.events if name == "note")
    assert notes == ["p1", "p3"], f"expected a note for p1 and p3, got {notes}"
    tokens = "".join(data["text"] for name, data in stream.events if name == "token")
    assert tokens == ANSWER
    stored = get_answer(app, stream.id)
    assert stored["status"] == "complete" and stored["answer"] == ANSWER, stored
    assert sorted(n["paper_id"] for n in stored["notes"]) == ["p1", "p3"]


@pytest.mark.criterion("correctness", fails_to=1)
@pytest.mark.spec("stop.failure")
def test_provider_failure_is_reported(app, provider, open_stream):
    """a provider failure ends the stream with an error event and the answer is stored failed"""
    # p1's note call fails however often it is retried.
    provider.script(status(500).when(contains="[p1]", times=None), default=reply("Note.", ttft=0.2))
    stream = open_stream(["p1", "p2"])
    stream.read_to_end()
    assert stream.names()[-1:] == ["error"], f"expected an error event, got {stream.names()}"
    assert get_answer(app, stream.id)["status"] == "failed"


@pytest.mark.criterion("correctness", fails_to=2)
@pytest.mark.spec("button.missing")
def test_cancel_of_an_unknown_answer_is_404(app, provider):
    """Stop answers 404 for an answer that does not exist"""
    missing = app.post("/api/answers/no-such-answer/cancel")
    assert missing.status_code == 404, f"unknown answer: got {missing.status_code}"


@pytest.mark.criterion("correctness", fails_to=0)
@pytest.mark.spec("button.running")
def test_cancel_endpoint_contract(app, provider, open_stream):
    """Stop answers 200 with the cancelled answer"""
    provider.script(default=hang())
    stream = open_stream(["p1"])
    answer_id = stream.until("created")["id"]
    response = app.post(f"/api/answers/{answer_id}/cancel")
    assert response.status_code == 200, f"cancel answered {response.status_code}: {response.text}"
    body = response.json()
    assert body.get("id") == answer_id and body.get("status") == "cancelled", body
