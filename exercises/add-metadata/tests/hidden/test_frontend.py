"""Hidden tests: the answer card in static/app.js, run with node in a DOM stub."""

import pytest

pytestmark = pytest.mark.criterion("frontend-robustness", fails_to=0)

FULL = {
    "answer": "Retrieval helps [p1].",
    "sources": [{"id": "p1", "title": "Retrieval-Augmented Generation", "year": 2020}],
    "metadata": {
        "model": "fake-gpt-4o-2024-08-06",
        "latency_ms": 1234,
        "created_at": "2026-11-26T06:25:22.123456Z",
        "usage": {"prompt_tokens": 50, "completion_tokens": 27, "total_tokens": 77},
        "source_ids": ["p1"],
    },
}
HOSTILE = "<img src=x onerror=alert(1)>"


HOSTILE_PAYLOAD = {
    **FULL,
    "answer": "<script>alert(1)</script>",
    "metadata": {**FULL["metadata"], "model": HOSTILE, "created_at": HOSTILE},
}
CASES = {
    "full": FULL,
    "no-metadata": {k: v for k, v in FULL.items() if k != "metadata"},
    "null-usage": {**FULL, "metadata": {**FULL["metadata"], "usage": None}},
    "hostile": HOSTILE_PAYLOAD,
}


@pytest.fixture(scope="module")
def rendered(js):
    """Every case rendered in one node process (node start-up dominates)."""
    results = js("static/app.js").call_many([("renderAnswer", [p]) for p in CASES.values()])
    return dict(zip(CASES, results, strict=True))


def render(rendered, case):
    result = rendered[case]
    if not result["ok"]:
        pytest.fail(f"renderAnswer threw: {result['error']}", pytrace=False)
    html = result["value"]
    assert isinstance(html, str), f"renderAnswer should return an HTML string, got {html!r}"
    return html


@pytest.mark.spec("show.fields")
def test_shows_metadata(rendered):
    """shows the model, latency and token usage in the answer card"""
    html = render(rendered, "full")
    assert "fake-gpt-4o-2024-08-06" in html
    assert "1234" in html
    assert "77" in html


@pytest.mark.criterion("frontend-robustness", fails_to=1)
@pytest.mark.spec("show.still-renders")
def test_renders_without_metadata(rendered):
    """renders an answer from a server that sends no metadata"""
    html = render(rendered, "no-metadata")
    assert "Retrieval helps" in html
    assert "undefined" not in html and "NaN" not in html


@pytest.mark.criterion("frontend-robustness", fails_to=2)
@pytest.mark.spec("show.still-renders")
def test_renders_with_null_usage(rendered):
    """renders an answer whose usage is null"""
    html = render(rendered, "null-usage")
    assert "fake-gpt-4o-2024-08-06" in html
    assert "undefined" not in html and "NaN" not in html


@pytest.mark.critical("Renders text from the server as HTML (script injection)")
@pytest.mark.spec("show.untrusted")
def test_escapes_hostile_strings(rendered):
    """escapes hostile strings from the server (no HTML injection)"""
    result = rendered["hostile"]
    # Critical means injected markup: a card that fails to render is other tests' failure.
    if not result["ok"] or not isinstance(result["value"], str):
        pytest.skip(f"renderAnswer gave no HTML to judge: {result.get('error')}")
    html = result["value"]
    assert "<img" not in html and "<script" not in html, f"raw HTML from the server: {html}"
