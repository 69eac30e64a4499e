"""Hidden tests: the answer card in static/app.js, run with node in a DOM stub."""

import pytest

pytestmark = pytest.mark.criterion("frontend-robustness")

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


def render(js, payload):
    html = js("static/app.js").call("renderAnswer", payload)
    assert isinstance(html, str), f"renderAnswer should return an HTML string, got {html!r}"
    return html


def test_shows_metadata(js):
    """shows the model, latency and token usage in the answer card"""
    html = render(js, FULL)
    assert "fake-gpt-4o-2024-08-06" in html
    assert "1234" in html
    assert "77" in html


def test_renders_without_metadata(js):
    """renders an answer from a server that sends no metadata"""
    payload = {k: v for k, v in FULL.items() if k != "metadata"}
    html = render(js, payload)
    assert "Retrieval helps" in html
    assert "undefined" not in html and "NaN" not in html


def test_renders_with_null_usage(js):
    """renders an answer whose usage is null"""
    payload = {**FULL, "metadata": {**FULL["metadata"], "usage": None}}
    html = render(js, payload)
    assert "fake-gpt-4o-2024-08-06" in html
    assert "undefined" not in html and "NaN" not in html


def test_escapes_hostile_strings(js):
    """escapes hostile strings from the server (no HTML injection)"""
    payload = {
        **FULL,
        "answer": "<script>alert(1)</script>",
        "metadata": {**FULL["metadata"], "model": HOSTILE, "created_at": HOSTILE},
    }
    html = render(js, payload)
    assert "<img" not in html and "<script" not in html, f"raw HTML from the server: {html}"
