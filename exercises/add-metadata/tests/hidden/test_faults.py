"""Hidden tests: a provider fault becomes a clean error, and the app keeps serving."""

import httpx
import pytest
from faultkit import garbage, malformed, reply, status, truncated

QUESTION = {"question": "Does retrieval reduce hallucination?"}

FAULTS = [
    pytest.param(
        status(500), id="500", marks=pytest.mark.title("survives a provider that fails with 500")
    ),
    pytest.param(
        status(503, retry_after=1),
        id="503",
        marks=pytest.mark.title("survives a provider that is unavailable (503)"),
    ),
    pytest.param(
        status(429, retry_after=1),
        id="429",
        marks=pytest.mark.title("survives a provider that rate-limits (429 with Retry-After)"),
    ),
    pytest.param(
        malformed(),
        id="malformed",
        marks=pytest.mark.title("survives a provider that returns malformed JSON"),
    ),
    pytest.param(
        truncated(),
        id="truncated",
        marks=pytest.mark.title("survives a provider that returns cut-off JSON"),
    ),
    pytest.param(
        garbage(),
        id="wrong-shape",
        marks=pytest.mark.title("survives a provider that returns JSON of the wrong shape"),
    ),
]


@pytest.mark.criterion("error-handling")
@pytest.mark.parametrize("fault", FAULTS)
def test_fault_gives_clean_error(app, provider, fault):
    # Every retry meets the same fault, so retrying is fine but cannot hide it.
    provider.script(default=fault)
    response = app.post("/api/answer", json=QUESTION)
    assert response.status_code in {429, 502, 503, 504}, (
        f"a provider fault should give 502/503/504 (or 429), got {response.status_code}: "
        f"{response.text[:300]}"
    )
    try:
        body = response.json()
    except ValueError:
        pytest.fail(f"the error response is not JSON: {response.text[:300]}")
    assert isinstance(body, dict) and body, f"the error response should explain itself: {body}"
    assert "Traceback" not in response.text


@pytest.mark.criterion("error-handling")
def test_answers_without_usage(app, provider):
    """still answers when the provider omits token usage"""
    provider.script(reply("Short answer.", usage=False))
    response = app.post("/api/answer", json=QUESTION)
    assert response.status_code == 200, f"got {response.status_code}: {response.text[:300]}"
    assert response.json().get("answer") == "Short answer."


@pytest.mark.criterion("error-handling")
def test_recovers_after_fault(app, provider):
    """keeps serving normally after a provider fault"""
    provider.script(status(500), reply("Back to normal."))
    try:
        app.post("/api/answer", json=QUESTION)
    except httpx.HTTPError:
        pass  # how the app fails here is another test's business
    response = app.post("/api/answer", json=QUESTION)
    assert response.status_code == 200, f"got {response.status_code}: {response.text[:300]}"
    assert response.json().get("answer") == "Back to normal."
