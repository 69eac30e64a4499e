"""Hidden tests: a provider that goes quiet is cut off (task 2).

The app runs with LLM_TIMEOUT_SECONDS=2 (see exercise.toml); the client waits up to
8 s for the next bytes, so a working timeout has 6 s of slack on a busy machine."""

import pytest
from conftest import assert_error_event, stream_answer
from faultkit import hang, reply

pytestmark = pytest.mark.criterion("timeouts-and-retries")

ANSWER = "Retrieval reduces hallucination when passages are relevant [p1]."


def test_stall_mid_stream_is_cut_off(app_url, provider):
    """cuts off a provider that stalls mid-answer and says so with an error event"""
    provider.script(reply(ANSWER, stall_after=2))
    result = stream_answer(app_url, read_timeout=8)
    data = assert_error_event(result)
    assert result.text == "Retrieval reduces", result.describe()
    assert data.get("code") == "timeout", f"a stall should be reported as code timeout: {data}"


def test_provider_that_never_answers_is_cut_off(app_url, provider):
    """cuts off a provider that never starts answering"""
    provider.script(hang())
    result = stream_answer(app_url, read_timeout=8)
    data = assert_error_event(result, allow_http_error=True)
    if result.status == 200:
        assert data.get("code") == "timeout", f"a hung provider should give code timeout: {data}"
    else:
        assert result.status == 504, f"a hung provider should give 504, got {result.status}"
