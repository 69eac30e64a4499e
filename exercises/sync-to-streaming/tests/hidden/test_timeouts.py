"""Hidden tests: a provider that goes quiet is cut off, one that keeps talking is not (task 2).

The app runs with LLM_TIMEOUT_SECONDS=2 (see exercise.toml); the client waits up to
8 s for the next bytes, so a working timeout has 6 s of slack on a busy machine."""

import pytest
from conftest import assert_error_event, stream_answer
from faultkit import hang, reply

ANSWER = "Retrieval reduces hallucination when passages are relevant [p1]."


@pytest.mark.criterion("timeouts-and-retries", fails_to=0)
@pytest.mark.spec("faults.idle-timeout")
def test_stall_mid_stream_is_cut_off(app_url, provider):
    """cuts off a provider that stalls mid-answer and says so with an error event"""
    provider.script(reply(ANSWER, stall_after=2))
    result = stream_answer(app_url, read_timeout=8)
    assert_error_event(result)
    assert result.text == "Retrieval reduces", result.describe()


@pytest.mark.criterion("timeouts-and-retries", fails_to=2)
@pytest.mark.spec("faults.idle-timeout", "faults.codes")
def test_provider_that_never_answers_is_cut_off(app_url, provider):
    """cuts off a provider that never starts answering, and says it timed out"""
    # Every request hangs: retrying before the first token is allowed, but meets it again.
    provider.script(default=hang())
    result = stream_answer(app_url, read_timeout=8)
    data = assert_error_event(result, allow_http_error=True)
    if result.status == 200:
        assert data.get("code") == "timeout", f"a hung provider should give code timeout: {data}"
    else:
        assert result.status == 504, f"a hung provider should give 504, got {result.status}"


@pytest.mark.criterion("timeouts-and-retries", fails_to=1)
@pytest.mark.spec("faults.keeps-flowing")
def test_long_answer_that_keeps_flowing_is_not_cut_off(app_url, provider):
    """lets a long answer that keeps flowing run past LLM_TIMEOUT_SECONDS (an idle timeout,
    not a deadline on the whole answer)"""
    # 12 chunks 0.2 s apart: at least 2.2 s in all (a 2 s deadline on the whole answer
    # cuts it off), never more than 0.2 s of silence.
    text = " ".join(f"part{i}" for i in range(12))
    provider.script(reply(text, per_token=0.2))
    result = stream_answer(app_url, read_timeout=8)
    assert result.text == text and result.names[-1:] == ["done"], (
        f"a long answer that never paused for 2 s was cut off: {result.describe()}"
    )
