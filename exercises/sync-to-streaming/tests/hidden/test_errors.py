"""Hidden tests: provider failures end the stream with an in-band error event (task 2)."""

import pytest
from conftest import assert_error_event, stream_answer
from faultkit import garbage, malformed, reply, status, truncated

ANSWER = "Retrieval reduces hallucination when passages are relevant [p1]."


@pytest.mark.criterion("error-handling", fails_to=1)
@pytest.mark.spec("faults.report", "faults.once-last", "faults.kept")
def test_break_off_mid_stream_gives_error_event(app_url, provider):
    """reports an error event when the provider drops the connection mid-answer"""
    provider.script(reply(ANSWER, per_token=0.02, break_after=3))
    result = stream_answer(app_url)
    assert_error_event(result)
    assert result.text == "Retrieval reduces hallucination", (
        f"the tokens before the break should still arrive, got {result.text!r}"
    )


@pytest.mark.criterion("error-handling", fails_to=2)
@pytest.mark.spec("faults.report")
def test_cut_off_final_chunk_gives_error_event(app_url, provider):
    """reports an error event when the stream ends mid-chunk without [DONE]"""
    provider.script(truncated())
    assert_error_event(stream_answer(app_url))


@pytest.mark.criterion("error-handling", fails_to=1)
@pytest.mark.spec("faults.report")
def test_malformed_chunk_gives_error_event(app_url, provider):
    """reports an error event for a chunk that is not JSON, instead of skipping it"""
    # The rest of the stream is well-formed and ends with [DONE].
    provider.script(reply("Retrieval helps.", per_token=0.05, malformed_after=1))
    result = stream_answer(app_url)
    assert_error_event(result)


@pytest.mark.criterion("error-handling", fails_to=2)
@pytest.mark.spec("faults.report")
def test_in_band_provider_error_gives_error_event(app_url, provider):
    """reports an error event when the provider sends an error object mid-stream"""
    # The rest of the stream looks complete: only the error object says otherwise.
    provider.script(reply("Retrieval helps.", per_token=0.05, error_after=1))
    assert_error_event(stream_answer(app_url))


@pytest.mark.criterion("error-handling", fails_to=0)
@pytest.mark.spec("faults.report", "faults.before-first")
@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(
            status(500),
            id="500",
            marks=pytest.mark.title("reports a provider failure (500) before the first token"),
        ),
        pytest.param(
            status(503, retry_after=1),
            id="503",
            marks=pytest.mark.title("reports an unavailable provider (503) before the first token"),
        ),
        pytest.param(
            status(429, retry_after=1),
            id="429",
            marks=pytest.mark.title("reports a rate-limited provider (429) before the first token"),
        ),
        pytest.param(
            malformed(),
            id="not-a-stream",
            marks=pytest.mark.title(
                "reports a provider that answers with malformed JSON instead of a stream"
            ),
        ),
        pytest.param(
            garbage(),
            id="wrong-shape",
            marks=pytest.mark.title(
                "reports a provider that answers with JSON of the wrong shape instead of a stream"
            ),
        ),
    ],
)
def test_failure_before_first_token_is_reported(app_url, provider, fault):
    provider.script(default=fault)
    result = stream_answer(app_url)
    assert_error_event(result, allow_http_error=True)
    assert not result.tokens, result.describe()


@pytest.mark.criterion("error-handling", fails_to=0)
@pytest.mark.spec("faults.keeps-serving")
def test_keeps_serving_after_a_broken_stream(app_url, provider):
    """streams normally again right after a broken stream"""
    # Matched by content: the first question's stream breaks however often it is asked.
    provider.script(
        reply(ANSWER, break_after=2).when(contains="first question", times=None),
        default=reply("Back to normal."),
    )
    stream_answer(app_url, {"question": "The first question"})
    result = stream_answer(app_url, {"question": "The second question"})
    assert result.text == "Back to normal.", result.describe()
    assert result.names[-1:] == ["done"], result.describe()


@pytest.mark.criterion("error-handling", fails_to=2)
@pytest.mark.spec("faults.codes")
@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(
            reply(ANSWER, break_after=2),
            id="break",
            marks=pytest.mark.title("says provider_error for a dropped connection"),
        ),
        pytest.param(
            reply(ANSWER, malformed_after=1),
            id="malformed",
            marks=pytest.mark.title("says provider_error for a malformed chunk"),
        ),
    ],
)
def test_provider_failures_say_provider_error(app_url, provider, fault):
    provider.script(fault)
    data = assert_error_event(stream_answer(app_url))
    assert data.get("code") == "provider_error", (
        f"the error event should say provider_error: {data}"
    )
