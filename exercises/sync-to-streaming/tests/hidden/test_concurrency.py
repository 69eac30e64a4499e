"""Hidden tests: many streams at once (task 2). Overlap is read from the provider's
request log (when each upstream request started and finished), not from a stopwatch."""

import threading

import httpx
import pytest
from conftest import StreamResult, stream_answer
from faultkit import reply

STREAMS = 20


def max_overlap(records):
    edges = []
    for r in records:
        edges.append((r.started_at, 1))
        edges.append((r.finished_at if r.finished_at is not None else float("inf"), -1))
    depth = best = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        depth += step
        best = max(best, depth)
    return best


def twenty_streams(app_url, provider):
    """Twenty users at once. Each answer holds after its first word until the provider has
    seen half of the streams (or 5 s passed): an app that serves them at once has those
    open together however slow the machine is, one that blocks its event loop never does."""
    provider.script(default=reply("Twenty at once.", hold_after=1, per_token=0.02))
    results: list[StreamResult | None] = [None] * STREAMS

    def one(i):
        results[i] = stream_answer(app_url, read_timeout=15)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(STREAMS)]
    for t in threads:
        t.start()
    provider.wait_until(lambda rs: sum(r.stream for r in rs) >= STREAMS // 2, timeout=5)
    provider.release()
    for t in threads:
        t.join(30)
    return results, [r for r in provider.requests if r.stream]


@pytest.mark.criterion("concurrency", fails_to=0)
@pytest.mark.spec("faults.twenty")
def test_twenty_streams_are_served_at_once(app_url, provider):
    """serves 20 streams at the same time (no blocking call in the event loop)"""
    _, records = twenty_streams(app_url, provider)
    overlap = max_overlap(records)
    assert len(records) == STREAMS, f"the provider saw {len(records)} streaming requests"
    assert overlap >= STREAMS // 2, (
        f"at most {overlap} of {STREAMS} upstream streams were open at once: "
        "something blocks the event loop (a synchronous client inside async code?)"
    )


@pytest.mark.criterion("concurrency", fails_to=2)
@pytest.mark.spec("faults.twenty")
def test_twenty_streams_each_get_their_whole_answer(app_url, provider):
    """gives each of 20 users streaming at once their whole answer, ended by done"""
    results, _ = twenty_streams(app_url, provider)
    for r in results:
        assert r is not None and r.text == "Twenty at once." and r.names[-1:] == ["done"], (
            r.describe() if r else "a stream never finished"
        )


@pytest.mark.criterion("concurrency", fails_to=0)
@pytest.mark.critical("Sends one user's answer to another user")
@pytest.mark.spec("faults.twenty")
def test_each_user_gets_their_own_answer(app_url, provider):
    """gives users streaming at the same time each their own answer, never another's"""
    users = ["alpha", "beta", "gamma"]
    # Matched by each user's question, whatever order the requests arrive in.
    provider.script(
        *(
            reply(f"Answer for {u} one two three", per_token=0.05).when(contains=f"about {u}")
            for u in users
        )
    )
    results: dict[str, StreamResult] = {}

    def one(user):
        results[user] = stream_answer(app_url, {"question": f"A question about {user}"})

    threads = [threading.Thread(target=one, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # Critical means crossed answers: a stream that ends short is another test's failure.
    for user in users:
        got = results.get(user)
        text = got.text if got is not None else ""
        for other in users:
            if other != user:
                assert other not in text, f"{user} was sent {other}'s answer: {text!r}"
        assert f"Answer for {user} one two three".startswith(text), f"{user} got {text!r}"


@pytest.mark.criterion("concurrency", fails_to=1)
@pytest.mark.spec("faults.responsive")
def test_other_requests_answer_during_a_stream(app_url, provider):
    """answers other requests while a slow stream is in progress"""
    # The answer holds after its first word until the test has its other answer, so the
    # stream is in progress however slow the machine is; an app whose event loop the
    # stream blocks answers nothing else until it ends.
    provider.script(reply("one two three four five six", hold_after=1))
    seen, done = threading.Event(), threading.Event()

    def on_event(event):
        seen.set()
        return not done.is_set()

    reader = threading.Thread(target=stream_answer, args=(app_url,), kwargs={"on_event": on_event})
    reader.start()
    response: httpx.Response | None = None
    try:
        assert seen.wait(10), "the stream sent nothing"
        try:
            response = httpx.get(app_url + "/api/papers", params={"q": "retrieval"}, timeout=5)
        except httpx.TimeoutException:
            response = None
        still_streaming = provider.requests[-1].finished_at is None
    finally:
        provider.release()
        done.set()
        reader.join(20)
    assert response is not None, "the app answered no other request while a stream was in progress"
    assert response.status_code == 200
    assert still_streaming, "the app answered another request only after the stream had finished"
