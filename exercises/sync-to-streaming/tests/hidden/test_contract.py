"""Hidden tests: the event framing and the final metadata the task specifies (task 1)."""

import pytest
from conftest import QUESTION, stream_answer
from faultkit import reply


@pytest.mark.criterion("correctness", fails_to=0)
@pytest.mark.spec("stream.endpoint", "stream.framing")
def test_speaks_the_specified_event_stream(app_url, provider):
    """answers with text/event-stream, named events and one JSON object per event"""
    provider.script(reply("Short answer [p1]."))
    result = stream_answer(app_url)
    assert result.status == 200, result.describe()
    assert result.content_type.startswith("text/event-stream"), result.content_type
    assert result.tokens, f"no token events: {result.describe()}"
    for event in result.events:
        assert event.name in {"token", "done", "error"}, f"unknown event {event.name!r}"
        assert isinstance(event.data, dict), (
            f"{event.name} data is not a JSON object: {event.raw!r}"
        )
    # An empty text is allowed: the task only says that joining every text gives the answer.
    for event in result.tokens:
        assert isinstance(event.data.get("text"), str), event.raw


@pytest.mark.criterion("correctness", fails_to=1)
@pytest.mark.spec("stream.done-meta", "stream.finish")
def test_done_event_carries_metadata(app_url, provider):
    """ends with a done event carrying the model, the provider's token usage and the sources"""
    # "length", not the usual "stop": the provider's own reason, whatever it says.
    provider.script(reply("Retrieval helps", model="fake-stream-2025", finish_reason="length"))
    result = stream_answer(app_url, {"question": "anything", "paper_ids": ["p3", "p1"]})
    assert result.names[-1:] == ["done"], result.describe()
    done = result.events[-1].data
    assert isinstance(done, dict), result.events[-1].raw
    assert [s.get("id") for s in done.get("sources", [])] == ["p3", "p1"], done
    meta = done.get("metadata")
    assert isinstance(meta, dict), f"done has no metadata object: {done}"
    assert meta.get("model") == "fake-stream-2025", meta
    assert meta.get("finish_reason") == "length", meta
    sent = provider.requests[-1].usage
    assert sent is not None, (
        "the provider reported no usage: a stream carries usage only when the request asks "
        'for it with "stream_options": {"include_usage": true}'
    )
    assert meta.get("usage") == sent, (
        f"usage {meta.get('usage')} differs from the provider's {sent}"
    )


@pytest.mark.criterion("correctness", fails_to=1)
@pytest.mark.critical("Reports token usage the provider never sent")
@pytest.mark.spec("stream.usage-null")
def test_usage_null_when_provider_omits_it(app_url, provider):
    """reports usage as null in done when the provider reports none"""
    provider.script(reply("No usage here.", usage=False))
    result = stream_answer(app_url)
    done = result.events[-1].data if result.names[-1:] == ["done"] else None
    meta = done.get("metadata") if isinstance(done, dict) else None
    # Critical means invented usage: a stream without done or usage is another test's failure.
    if not isinstance(meta, dict) or "usage" not in meta:
        pytest.skip(f"no usage in a done event, judged by other tests: {result.describe()}")
    assert meta["usage"] is None, f"the provider reported no usage, the app sent {meta['usage']}"


@pytest.mark.criterion("correctness", fails_to=2)
@pytest.mark.spec("stream.join")
def test_text_in_the_finishing_chunk_is_kept(app_url, provider):
    """keeps text that arrives in the same chunk as finish_reason"""
    # Some providers put the last words and finish_reason in one chunk.
    provider.script(reply("Attention sinks keep quality stable.", finish_with_last=True))
    result = stream_answer(app_url)
    assert result.text == "Attention sinks keep quality stable.", result.describe()
    assert result.names[-1:] == ["done"], result.describe()


@pytest.mark.criterion("correctness", fails_to=2)
@pytest.mark.spec("stream.join")
def test_newlines_quotes_and_unicode_survive(app_url, provider):
    """keeps newlines, quotes and non-ASCII text in tokens intact"""
    text = 'Line one\nline "two" — naïve café 東京 </script> data: x\n\nevent: done'
    provider.script(reply(text))
    result = stream_answer(app_url)
    assert result.text == text, f"got {result.text!r}"
    assert result.names[-1:] == ["done"], result.describe()


@pytest.mark.criterion("correctness", fails_to=0)
@pytest.mark.spec("stream.compatible")
def test_blocking_endpoint_still_works(app, provider):
    """keeps POST /api/answer working for existing clients"""
    provider.script(reply("Still here [p1]."))
    response = app.post("/api/answer", json=QUESTION)
    assert response.status_code == 200, response.text[:300]
    assert response.json().get("answer") == "Still here [p1]."
    assert response.json().get("sources"), response.json()
