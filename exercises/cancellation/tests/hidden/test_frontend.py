"""Hidden tests: the page (static/app.js, run with node in a DOM stub) shows a stopped answer."""

import pytest

pytestmark = pytest.mark.criterion("frontend-robustness")

START = {"id": None, "status": "running", "notes": [], "text": "", "sources": [], "error": None}
HOSTILE = "<img src=x onerror=alert(1)>"


def replay(js, events):
    page = js("static/app.js")
    state = START
    for event in events:
        state = page.call("applyEvent", state, event)
        assert isinstance(state, dict), f"applyEvent returned {state!r}"
    html = page.call("renderAnswer", state)
    assert isinstance(html, str), f"renderAnswer should return an HTML string, got {html!r}"
    return state, html


def test_stopped_answer_is_shown_as_stopped(js):
    """shows a stopped answer as stopped, keeping the text streamed so far"""
    state, html = replay(
        js,
        [
            {"event": "created", "data": {"id": "a1"}},
            {"event": "token", "data": {"text": "Retrieval helps"}},
            {"event": "cancelled", "data": {"id": "a1"}},
        ],
    )
    assert "Retrieval helps" in html, f"the streamed text disappeared: {html}"
    lowered = html.lower()
    assert "cancel" in lowered or "stopped" in lowered, (
        f"nothing on the card says the answer was stopped: {html}"
    )
    assert state.get("status") != "running", f"the page still thinks it is running: {state}"


def test_server_text_is_never_html(js):
    """escapes notes and answer text from the server (no HTML injection)"""
    _, html = replay(
        js,
        [
            {"event": "created", "data": {"id": "a1"}},
            {"event": "note", "data": {"paper_id": HOSTILE, "text": HOSTILE}},
            {"event": "token", "data": {"text": HOSTILE}},
        ],
    )
    assert "<img" not in html, f"raw HTML from the server: {html}"
