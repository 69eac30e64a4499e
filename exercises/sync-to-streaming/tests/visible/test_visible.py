"""Visible tests: run them from the editor. The hidden suite checks much more."""

import json

import httpx
from faultkit import reply

QUESTION = {"question": "Does retrieval reduce hallucination?"}


def events(app_url, body=QUESTION):
    """(event name, data) pairs of POST /api/answer/stream, in order."""
    found, name = [], "message"
    with httpx.stream("POST", app_url + "/api/answer/stream", json=body, timeout=10) as response:
        assert response.status_code == 200, response.read()[:300]
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                found.append((name, json.loads(line[5:])))
                name = "message"
    return found


def test_blocking_answer_still_works(app, provider):
    """POST /api/answer keeps working"""
    provider.script(reply("Retrieval helps [p1]."))
    response = app.post("/api/answer", json=QUESTION)
    assert response.status_code == 200
    assert response.json()["answer"] == "Retrieval helps [p1]."


def test_stream_sends_tokens_then_done(app_url, provider):
    """the stream sends the answer as token events and ends with done"""
    provider.script(reply("Retrieval helps [p1]."))
    got = events(app_url)
    assert [n for n, _ in got if n != "token"] == ["done"]
    assert "".join(d["text"] for n, d in got if n == "token") == "Retrieval helps [p1]."
