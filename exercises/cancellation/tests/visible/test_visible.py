"""Visible tests: run them from the editor. The hidden suite checks much more."""

import json

import httpx
from faultkit import hang, reply

QUESTION = {"question": "Does retrieval reduce hallucination?", "paper_ids": ["p1", "p2"]}


def events_of(response):
    """(event, data) pairs from a server-sent events response, as they arrive."""
    name, data = "message", []
    for line in response.iter_lines():
        if line == "":
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[len("event:") :].strip()
        elif line.startswith("data:"):
            data.append(line[len("data:") :].strip())


def test_answer_streams_to_the_end(app_url, provider):
    """the answer streams created, notes, tokens and done"""
    provider.script(reply("A note."), reply("A note."), reply("Retrieval helps [p1]."))
    with httpx.Client(base_url=app_url, timeout=10) as client:
        with client.stream("POST", "/api/answers", json=QUESTION) as response:
            names = [name for name, _ in events_of(response)]
    assert names[0] == "created" and names[-1] == "done", names
    assert names.count("note") == 2


def test_closing_the_tab_cancels_the_provider_calls(app_url, provider):
    """closing the tab cancels the provider calls within 2 seconds"""
    provider.script(default=hang())
    client = httpx.Client(base_url=app_url, timeout=10)
    with client.stream("POST", "/api/answers", json=QUESTION) as response:
        events = events_of(response)  # keep it: dropping the generator closes the stream
        assert next(events)[0] == "created"
        assert provider.wait_until(lambda rs: len(rs) == 2, timeout=5), "expected 2 calls"
    client.close()  # the tab is gone
    assert provider.wait_until(lambda rs: all(r.finished_at is not None for r in rs), timeout=2), (
        "the provider calls were still running 2 s after the client left"
    )
