"""Hidden tests: the page (static/app.js, run with node in a DOM stub) shows a stopped answer."""

import pytest

pytestmark = pytest.mark.criterion("frontend-robustness", fails_to=0)

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


STOPPED = [
    {"event": "created", "data": {"id": "a1"}},
    {"event": "token", "data": {"text": "Retrieval helps"}},
    {"event": "cancelled", "data": {"id": "a1"}},
]


def says_stopped(html):
    lowered = html.lower()
    return "cancel" in lowered or "stopped" in lowered


@pytest.mark.spec("button.label")
def test_stopped_answer_is_shown_as_stopped(js):
    """shows a stopped answer as stopped, not as still running"""
    state, html = replay(js, STOPPED)
    assert says_stopped(html), f"nothing on the card says the answer was stopped: {html}"
    assert state.get("status") != "running", f"the page still thinks it is running: {state}"


@pytest.mark.criterion("frontend-robustness", fails_to=1)
@pytest.mark.spec("button.label")
def test_stopped_answer_keeps_its_text(js):
    """keeps the text streamed so far on a stopped answer"""
    _, html = replay(js, STOPPED)
    assert "Retrieval helps" in html, f"the streamed text disappeared: {html}"


@pytest.mark.criterion("frontend-robustness", fails_to=2)
@pytest.mark.spec("button.label")
def test_finished_answer_is_not_labelled_stopped(js):
    """labels only stopped answers as stopped, not finished ones"""
    stored = {"id": "a1", "status": "complete", "answer": "Retrieval helps.", "notes": []}
    _, html = replay(
        js,
        [
            {"event": "created", "data": {"id": "a1"}},
            {"event": "token", "data": {"text": "Retrieval helps."}},
            {"event": "done", "data": {**stored, "sources": [], "error": None}},
        ],
    )
    assert "Retrieval helps." in html, html
    assert not says_stopped(html), f"a finished answer is labelled as stopped: {html}"


@pytest.mark.critical("Renders text from the server as HTML (script injection)")
@pytest.mark.spec("button.untrusted")
@pytest.mark.parametrize(
    "stopped",
    [
        pytest.param(False, id="streaming"),
        pytest.param(
            True,
            id="stopped",
            marks=pytest.mark.title("escapes a stopped answer's text (no HTML injection)"),
        ),
    ],
)
def test_server_text_is_never_html(js, stopped):
    """escapes notes and answer text from the server (no HTML injection)"""
    events = [
        {"event": "created", "data": {"id": "a1"}},
        {"event": "note", "data": {"paper_id": HOSTILE, "text": HOSTILE}},
        {"event": "token", "data": {"text": HOSTILE}},
    ]
    if stopped:
        events.append({"event": "cancelled", "data": {"id": "a1"}})
    page = js("static/app.js")
    state = START

    def call(fn, *args):
        try:
            (result,) = page.call_many([(fn, list(args))])
        except pytest.fail.Exception as exc:  # node did not finish or failed to load it
            pytest.skip(f"nothing rendered to judge: {exc}")
        return result

    # Critical means injected markup: a page that cannot render is other tests' failure.
    for event in events:
        result = call("applyEvent", state, event)
        if not result["ok"] or not isinstance(result["value"], dict):
            pytest.skip(f"applyEvent gave nothing to render: {result.get('error')}")
        state = result["value"]
    result = call("renderAnswer", state)
    if not result["ok"] or not isinstance(result["value"], str):
        pytest.skip(f"renderAnswer gave no HTML to judge: {result.get('error')}")
    assert "<img" not in result["value"], f"raw HTML from the server: {result['value']}"
