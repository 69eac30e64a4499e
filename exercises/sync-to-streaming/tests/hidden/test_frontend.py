"""Hidden tests: renderStream() in static/app.js renders events as they arrive (task 3).

Run with node against a small DOM; each network chunk is handed over only when
renderStream asks for more, so "after chunk i" means "after the page had read it"."""

import pytest
from conftest import render_stream, sse

pytestmark = pytest.mark.criterion("frontend-robustness", fails_to=0)

HOSTILE = '<img src=x onerror="alert(1)">'
DONE = sse(
    "done",
    {
        "sources": [{"id": "p1", "title": "Retrieval-Augmented Generation", "year": 2020}],
        "metadata": {"model": "fake-model", "usage": None, "finish_reason": "stop"},
    },
)


def tokens(*texts):
    return [sse("token", {"text": t}) for t in texts]


@pytest.mark.spec("frontend.progressive")
def test_renders_tokens_progressively(candidate_dir):
    """shows each token as it arrives, before the answer is complete"""
    out = render_stream(candidate_dir, [*tokens("Retrieval", " reduces", " hallucination."), DONE])
    shown = [s.text for s in out.snapshots]
    assert "Retrieval" in shown[0], f"after the first token the page showed {shown[0]!r}"
    assert "Retrieval reduces" in shown[1], f"after two tokens the page showed {shown[1]!r}"
    assert "Retrieval reduces hallucination." in out.final.text, out.final.text
    assert not out.final.error_shown, f"a complete answer shows an error: {out.final.html}"


@pytest.mark.critical("Renders text from the server as HTML (script injection)")
@pytest.mark.spec("frontend.untrusted")
def test_escapes_tokens(candidate_dir):
    """renders token text as text, never as HTML"""
    pieces = [*tokens("Look: ", HOSTILE, "<script>x()</script>"), DONE]
    out = render_stream(candidate_dir, pieces, markup_only=True)
    assert "img" not in out.final.tags and "script" not in out.final.tags, (
        f"server text became markup: {out.final.html}"
    )


@pytest.mark.criterion("frontend-robustness", fails_to=1)
@pytest.mark.spec("frontend.progressive", "frontend.untrusted")
def test_shows_markup_in_tokens_as_typed(candidate_dir):
    """shows text that looks like HTML exactly as the server sent it"""
    out = render_stream(candidate_dir, [*tokens("Look: ", HOSTILE, " 1 < 2 & 3"), DONE])
    assert f"Look: {HOSTILE} 1 < 2 & 3" in out.final.text, (
        f"the text should be shown as typed: {out.final.text!r}"
    )


@pytest.mark.critical("Renders text from the server as HTML (script injection)")
@pytest.mark.spec("frontend.untrusted")
def test_escapes_done_and_error_payloads(candidate_dir):
    """renders sources, model and error messages from the server as text"""
    done = sse(
        "done",
        {
            "sources": [{"id": HOSTILE, "title": HOSTILE, "year": 2020}],
            "metadata": {"model": HOSTILE, "usage": None, "finish_reason": "stop"},
        },
    )
    out = render_stream(candidate_dir, [*tokens("ok"), done], markup_only=True)
    assert "img" not in out.final.tags, f"server text became markup: {out.final.html}"
    out = render_stream(
        candidate_dir,
        [*tokens("ok"), sse("error", {"error": HOSTILE, "code": "x"})],
        markup_only=True,
    )
    assert "img" not in out.final.tags, f"server text became markup: {out.final.html}"


@pytest.mark.criterion("frontend-robustness", fails_to=1)
@pytest.mark.spec("frontend.progressive")
def test_handles_events_split_across_chunks(candidate_dir):
    """reassembles events split across network chunks, even inside a UTF-8 character"""
    whole = b"".join([*tokens("Café ", "東京", " — naïve"), DONE])
    tokyo = whole.index("東".encode())
    cuts = [
        whole.index(b"event:") + 3,  # inside a field name
        whole.index(b"\n\n") + 1,  # between the two newlines that end an event
        tokyo + 1,  # inside a three-byte character
        tokyo + 5,
        whole.index(b'"text"', tokyo) + 2,  # inside the JSON of the next event
        whole.index(b"event: done") - 1,
    ]
    pieces = [whole[a:b] for a, b in zip([0, *cuts], [*cuts, len(whole)], strict=True)]
    out = render_stream(candidate_dir, pieces)
    assert "Café 東京 — naïve" in out.final.text, f"the page showed {out.final.text!r}"
    assert not out.final.error_shown, out.final.html


@pytest.mark.criterion("frontend-robustness", fails_to=2)
@pytest.mark.spec("frontend.sources")
def test_shows_sources_when_done(candidate_dir):
    """shows the sources from the done event"""
    out = render_stream(candidate_dir, [*tokens("Answer."), DONE])
    assert "Retrieval-Augmented Generation" in out.final.text, out.final.html


@pytest.mark.criterion("frontend-robustness", fails_to=1)
@pytest.mark.spec("frontend.errors")
def test_shows_error_event(candidate_dir):
    """shows the error from an error event and keeps the partial answer"""
    error = sse("error", {"error": "the model provider stopped answering", "code": "timeout"})
    out = render_stream(candidate_dir, [*tokens("Partial", " answer"), error])
    assert out.final.error_shown, f"no element with class error: {out.final.html}"
    assert "the model provider stopped answering" in out.final.text, out.final.text
    assert "Partial answer" in out.final.text, out.final.text


@pytest.mark.criterion("frontend-robustness", fails_to=2)
@pytest.mark.spec("frontend.errors", "frontend.settles")
@pytest.mark.parametrize("cut", [False, True], ids=["closed", "reset"])
def test_shows_error_when_stream_ends_without_final_event(candidate_dir, cut):
    """shows an error when the stream ends without done or error"""
    out = render_stream(candidate_dir, tokens("Partial", " answer"), cut=cut)
    assert out.outcome != "pending", "renderStream never finished"
    assert out.final.error_shown, (
        f"the answer was cut off but the page shows no error: {out.final.html}"
    )
