"""Hidden tests: tokens reach the client as the provider produces them (task 1)."""

import pytest
from conftest import stream_answer
from faultkit import reply

# Eight chunks: the fake provider streams one word per chunk.
ANSWER = "Retrieval reduces hallucination when passages are relevant [p1]."
WORDS = len(ANSWER.split(" "))


@pytest.mark.criterion("streaming", fails_to=0)
@pytest.mark.spec("stream.as-sent")
def test_first_token_arrives_before_the_answer_is_complete(app_url, provider):
    """sends the first token while the provider is still writing the answer"""
    provider.script(reply(ANSWER, ttft=0.1, per_token=0.3))
    result = stream_answer(app_url, provider=provider, on_event=lambda e: e.name != "token")
    assert result.status == 200, result.describe()
    first = next((e for e in result.events if e.name == "token"), None)
    assert first is not None, f"no token event: {result.describe()}"
    # Ordering, not a stopwatch: 300 ms between chunks leaves seconds of slack.
    assert not first.provider_finished and first.provider_chunks is not None, (
        "the first token reached the client only after the provider had sent the whole "
        "answer: the app buffers instead of streaming"
    )
    assert first.provider_chunks <= WORDS // 2, (
        f"the first token reached the client only after the provider had sent "
        f"{first.provider_chunks} of {WORDS} chunks"
    )


@pytest.mark.criterion("streaming", fails_to=1)
@pytest.mark.spec("stream.as-sent", "stream.join")
def test_tokens_arrive_incrementally_and_in_order(app_url, provider):
    """forwards tokens one by one, in order, while the provider streams"""
    provider.script(reply(ANSWER, ttft=0.05, per_token=0.15))
    result = stream_answer(app_url, provider=provider)
    assert result.status == 200, result.describe()
    assert result.text == ANSWER, f"tokens joined give {result.text!r}, expected {ANSWER!r}"
    progress = [e.provider_chunks for e in result.tokens if not e.provider_finished]
    # A buffering app shows none: every token arrives after the provider finished.
    assert len(set(progress)) >= 3, (
        f"tokens should trickle in as the provider sends them; while the provider was "
        f"streaming the client saw tokens at only {len(set(progress))} distinct points"
    )


@pytest.mark.criterion("streaming", fails_to=2)
@pytest.mark.spec("stream.done-last", "stream.close")
def test_stream_ends_with_one_done_event_and_closes(app_url, provider):
    """ends a complete answer with exactly one done event, then closes the stream"""
    provider.script(reply(ANSWER))
    result = stream_answer(app_url)
    assert result.status == 200, result.describe()
    assert result.closed, f"the app left the stream open: {result.describe()}"
    assert result.names and result.names[-1] == "done", result.describe()
    assert result.names.count("done") == 1 and "error" not in result.names, result.describe()
    assert set(result.names[:-1]) == {"token"}, result.describe()


@pytest.mark.criterion("streaming", fails_to=1)
@pytest.mark.spec("stream.join")
def test_long_answer_streams_completely(app_url, provider):
    """streams a long answer completely, without dropping or reordering tokens"""
    text = " ".join(f"w{i}" for i in range(300))
    provider.script(reply(text))
    result = stream_answer(app_url)
    assert result.status == 200, result.describe()
    assert result.text == text, "the long answer arrived incomplete or out of order"
    assert result.names[-1:] == ["done"], result.describe()
