"""The fake provider: each fault, the request log, seeding, the control API and live mode."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from exercises.faultkit import (
    FakeProvider,
    Latency,
    RunningProvider,
    garbage,
    hang,
    malformed,
    reply,
    status,
    truncated,
)
from exercises.faultkit.provider import DEFAULT_ANSWER

REPO = Path(__file__).resolve().parents[2]
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Does retrieval help?"}]}


@pytest.fixture
def served():
    with RunningProvider(FakeProvider(seed=7)) as running:
        yield running


def post(running, body=BODY, **kwargs):
    return httpx.post(f"{running.base_url}/chat/completions", json=body, timeout=10, **kwargs)


def sse_events(text: str) -> list[str]:
    return [line[len("data: ") :] for line in text.split("\n\n") if line.startswith("data: ")]


def test_healthy_reply_is_an_openai_completion(served):
    response = post(served)
    assert response.status_code == 200
    data = response.json()
    assert data["object"] == "chat.completion"
    assert data["model"] == "gpt-4o-mini"
    assert data["choices"][0]["message"]["content"] == DEFAULT_ANSWER
    usage = data["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_scripted_reply_model_and_missing_usage(served):
    served.provider.script(reply("Hi.", model="fake-gpt-4o-2024-08-06", usage=False))
    data = post(served).json()
    assert data["model"] == "fake-gpt-4o-2024-08-06"
    assert data["choices"][0]["message"]["content"] == "Hi."
    assert "usage" not in data
    (record,) = served.provider.requests
    assert record.usage is None and record.model == "fake-gpt-4o-2024-08-06"


def test_script_runs_in_order_then_falls_back_to_default(served):
    served.provider.script(status(500), reply("second"), default=status(503))
    codes = [post(served).status_code for _ in range(4)]
    assert codes == [500, 200, 503, 503]


def test_rate_limit_carries_retry_after(served):
    served.provider.script(status(429, retry_after=2))
    response = post(served)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.json()["error"]["type"] == "rate_limit_exceeded"


@pytest.mark.parametrize("code", [500, 503])
def test_server_errors(served, code):
    served.provider.script(status(code))
    response = post(served)
    assert response.status_code == code
    assert "error" in response.json()


def test_malformed_json(served):
    served.provider.script(malformed())
    response = post(served)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_truncated_json_is_a_prefix_of_a_real_completion(served):
    served.provider.script(truncated())
    response = post(served)
    assert response.text.startswith('{"id": "chatcmpl-1"')
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_garbage_is_valid_json_of_the_wrong_shape(served):
    served.provider.script(garbage())
    assert "choices" not in post(served).json()


def test_request_log_records_body_and_completion(served):
    post(served)
    (record,) = served.provider.requests
    assert record.body == BODY
    assert record.outcome == "completed" and record.status == 200
    assert record.started_at <= record.first_byte_at <= record.finished_at
    assert record.disconnected_at is None


def test_hang_records_when_the_client_gave_up(served):
    served.provider.script(hang())
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{served.base_url}/chat/completions", json=BODY, timeout=0.5)
    assert served.provider.wait_until(lambda rs: rs and rs[0].disconnected_at is not None)
    (record,) = served.provider.requests
    assert record.outcome == "disconnected"
    assert record.first_byte_at is None


def test_stream_sends_chunks_usage_and_done(served):
    body = {**BODY, "stream": True, "stream_options": {"include_usage": True}}
    served.provider.script(reply("one two three"))
    response = post(served, body)
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "one two three"
    assert chunks[-1]["usage"]["completion_tokens"] == 3
    assert served.provider.requests[0].chunks_sent == 3


def test_stream_without_include_usage_has_no_usage(served):
    response = post(served, {**BODY, "stream": True})
    events = [json.loads(e) for e in sse_events(response.text)[:-1]]
    assert all("usage" not in e for e in events)


def test_stream_that_stalls_and_the_client_hangs_up(served):
    served.provider.script(reply("a b c d e", stall_after=2))
    received = []
    with pytest.raises(httpx.ReadTimeout):
        with httpx.stream(
            "POST",
            f"{served.base_url}/chat/completions",
            json={**BODY, "stream": True},
            timeout=0.5,
        ) as response:
            for line in response.iter_lines():
                received.append(line)
    contents = [
        json.loads(x[6:])["choices"][0]["delta"].get("content")
        for x in received
        if x.startswith("data: ")
    ]
    assert contents == ["", "a", " b"]
    assert served.provider.wait_until(lambda rs: rs[0].disconnected_at is not None)
    assert served.provider.requests[0].outcome == "disconnected"


def test_a_held_stream_waits_for_release_then_finishes(served):
    served.provider.script(reply("a b c d e", hold_after=2))
    received: list[str] = []
    with httpx.stream(
        "POST", f"{served.base_url}/chat/completions", json={**BODY, "stream": True}, timeout=10
    ) as response:
        lines = response.iter_lines()
        while len([x for x in received if x.startswith("data: ")]) < 3:
            received.append(next(lines))
        # Held after two chunks: nothing more comes until the test lets it go.
        assert served.provider.requests[0].chunks_sent == 2
        assert served.provider.requests[0].outcome == "in-progress"
        served.provider.release()
        received.extend(lines)
    contents = [
        json.loads(x[6:])["choices"][0]["delta"].get("content")
        for x in received
        if x.startswith("data: ") and x != "data: [DONE]"
    ]
    assert "".join(c or "" for c in contents) == "a b c d e"
    assert served.provider.requests[0].outcome == "completed"


def test_a_held_reply_that_the_client_leaves_is_disconnected(served):
    served.provider.script(reply("a b c", hold_after=1), default=reply("later", hold_after=0))
    url = f"{served.base_url}/chat/completions"
    with httpx.stream("POST", url, json={**BODY, "stream": True}, timeout=10) as response:
        lines = response.iter_lines()
        # The role chunk, the first word, then empty deltas that keep the held stream alive.
        events = [next(lines) for _ in range(8)]
    data = [json.loads(x[6:]) for x in events if x.startswith("data: ")]
    assert [d["choices"][0]["delta"].get("content") for d in data] == ["", "a", "", ""]
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(url, json=BODY, timeout=0.5)  # a non-streamed reply holds before its body
    assert served.provider.wait_until(lambda rs: all(r.disconnected_at for r in rs))
    assert [r.outcome for r in served.provider.requests] == ["disconnected", "disconnected"]
    assert served.provider.requests[0].chunks_sent == 1


def test_stream_that_breaks_off(served):
    served.provider.script(reply("a b c d e", break_after=3))
    with pytest.raises(httpx.RemoteProtocolError):
        post(served, {**BODY, "stream": True})
    assert served.provider.wait_until(lambda rs: rs[0].outcome == "broken")
    assert served.provider.requests[0].chunks_sent == 3


def test_same_seed_same_delays():
    def delays(seed: int) -> list[float]:
        provider = FakeProvider(seed=seed)
        provider.script(default=reply(ttft=Latency.uniform(0.0, 0.02)))
        with RunningProvider(provider) as running:
            for _ in range(5):
                post(running)
        return [r.ttft for r in provider.requests]

    assert delays(3) == delays(3)
    assert delays(3) != delays(4)


def test_same_seed_same_flaky_sequence():
    def plan(seed: int) -> list[tuple[str, int, float]]:
        provider = FakeProvider(seed=seed, scenario="flaky")
        with RunningProvider(provider) as running:
            for _ in range(12):
                try:
                    httpx.post(f"{running.base_url}/chat/completions", json=BODY, timeout=0.2)
                except httpx.HTTPError:
                    pass  # what the client saw depends on timing; what was chosen must not
        return [(r.step, r.id, r.ttft) for r in provider.requests]

    first = plan(11)
    assert first == plan(11)
    assert {step for step, _, _ in first} >= {"status", "reply"}


def test_control_api_is_off_unless_enabled(served):
    assert httpx.get(f"http://127.0.0.1:{served.port}/_faultline/requests").status_code == 404


def test_control_api_scripts_switches_and_reports():
    provider = FakeProvider(control=True, control_token="s3cret")
    with RunningProvider(provider) as running:
        root = f"http://127.0.0.1:{running.port}/_faultline"
        headers = {"X-Faultline-Token": "s3cret"}
        assert httpx.post(f"{root}/scenario", json={"name": "outage"}).status_code == 403
        assert httpx.post(f"{root}/scenario", json={"name": "outage"}, headers=headers).json() == {
            "scenario": "outage"
        }
        assert post(running).status_code == 503
        scripted = {"steps": [{"kind": "status", "status": 429, "retry_after": 1}]}
        assert httpx.post(f"{root}/script", json=scripted, headers=headers).json() == {"queued": 1}
        assert post(running).status_code == 429
        bad = httpx.post(f"{root}/scenario", json={"name": "weird"}, headers=headers)
        assert bad.status_code == 400 and "unknown scenario" in bad.json()["error"]
        log = httpx.get(f"{root}/requests", headers=headers).json()
        assert [r["status"] for r in log["requests"]] == [503, 429]
        scenarios = httpx.get(f"{root}/scenario", headers=headers).json()["scenarios"]
        assert set(scenarios) == {"healthy", "slow", "flaky", "outage", "garbage"}


def test_garbage_scenario_never_returns_a_usable_completion_with_usage():
    with RunningProvider(FakeProvider(seed=1, scenario="garbage")) as running:
        for _ in range(8):
            response = post(running)
            try:
                data = response.json()
            except json.JSONDecodeError:
                continue
            assert "choices" not in data or "usage" not in data


def test_live_mode_command_serves_a_scenario(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "exercises.faultkit.serve",
            "--scenario",
            "outage",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{url}/_faultline/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        assert httpx.post(f"{url}/v1/chat/completions", json=BODY).status_code == 503
        switched = httpx.post(f"{url}/_faultline/scenario", json={"name": "healthy"})
        assert switched.json() == {"scenario": "healthy"}
        assert httpx.post(f"{url}/v1/chat/completions", json=BODY, timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- raw stream faults --

STREAM = {**BODY, "stream": True, "stream_options": {"include_usage": True}}


def stream_events(running, step) -> list[str]:
    running.provider.script(step)
    response = post(running, STREAM)
    assert response.status_code == 200
    return sse_events(response.text)


def contents(events: list[str]) -> list[str]:
    """The content of each well-formed chunk that has a choice."""
    out = []
    for e in events:
        data = json.loads(e)
        if data.get("choices"):
            out.append(data["choices"][0]["delta"].get("content"))
    return out


def test_stream_with_a_malformed_chunk_then_carries_on(served):
    events = stream_events(served, reply("one two three", malformed_after=2))
    # role chunk, "one", " two", then a chunk cut off mid-JSON, then the rest as usual
    bad = events[3]
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad)
    assert bad.startswith('{"id": "chatcmpl-1"')
    rest = [e for e in events if e != bad]
    assert rest[-1] == "[DONE]"
    assert contents(rest[:-1]) == ["", "one", " two", " three", None]
    assert json.loads(rest[-2])["usage"]["completion_tokens"] == 3
    assert served.provider.requests[0].chunks_sent == 3


def test_stream_with_an_in_band_error_then_carries_on(served):
    events = stream_events(served, reply("one two three", error_after=1))
    error = json.loads(events[2])
    assert error["error"]["type"] == "server_error" and error["error"]["message"]
    assert "choices" not in error
    rest = events[:2] + events[3:]
    assert rest[-1] == "[DONE]"
    assert contents(rest[:-1]) == ["", "one", " two", " three", None]


def test_fault_after_more_chunks_than_the_text_has_comes_after_the_last(served):
    events = stream_events(served, reply("one two", error_after=10))
    assert contents(events[:3]) == ["", "one", " two"]
    assert "error" in json.loads(events[3])
    assert json.loads(events[4])["choices"][0]["finish_reason"] == "stop"


def test_stream_with_the_last_text_in_the_finishing_chunk(served):
    events = stream_events(served, reply("one two three", finish_with_last=True))
    chunks = [json.loads(e) for e in events[:-1]]
    finishing = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert len(finishing) == 1
    assert finishing[0]["choices"][0]["delta"] == {"content": " three"}
    assert finishing[0]["choices"][0]["finish_reason"] == "stop"
    assert contents(events[:-1]) == ["", "one", " two", " three"]
    assert "usage" in chunks[-1] and events[-1] == "[DONE]"


def test_a_scripted_finish_reason_is_what_the_answer_reports(served):
    events = stream_events(served, reply("cut short", finish_reason="length"))
    chunks = [json.loads(e) for e in events[:-1]]
    reasons = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert [r for r in reasons if r] == ["length"]
    served.provider.script(reply("cut short", finish_reason="length"))
    assert post(served).json()["choices"][0]["finish_reason"] == "length"
    served.provider.script(reply("whole"))
    assert post(served).json()["choices"][0]["finish_reason"] == "stop"


def test_stream_faults_leave_non_streaming_answers_alone(served):
    served.provider.script(
        reply("Hi there.", malformed_after=0, error_after=0, finish_with_last=True)
    )
    data = post(served).json()
    assert data["choices"][0]["message"]["content"] == "Hi there."


def test_stream_faults_can_be_scripted_over_the_control_api():
    provider = FakeProvider(control=True)
    with RunningProvider(provider) as running:
        root = f"http://127.0.0.1:{running.port}/_faultline"
        steps = {"steps": [{"kind": "reply", "content": "a b", "error_after": 1}]}
        assert httpx.post(f"{root}/script", json=steps).json() == {"queued": 1}
        events = sse_events(post(running, STREAM).text)
        assert "error" in json.loads(events[2])


def test_negative_chunk_counts_are_refused():
    with pytest.raises(ValueError, match="malformed_after must be a count of chunks"):
        reply(malformed_after=-1)


# -- steps matched by request, not by arrival --


def ask(running, question, *, stream=False):
    body = {**BODY, "messages": [{"role": "user", "content": question}], "stream": stream}
    return post(running, body)


def test_a_step_for_a_logical_call_meets_every_retry_of_it(served):
    # The meaning "this question's call fails" holds whether the client retries or not.
    served.provider.script(status(500).when(contains="first", times=None), default=reply("ok"))
    assert [ask(served, "first question").status_code for _ in range(3)] == [500, 500, 500]
    assert ask(served, "second question").json()["choices"][0]["message"]["content"] == "ok"
    assert [r.attempt for r in served.provider.requests] == [1, 2, 3, 1]


def test_a_step_for_the_first_attempt_leaves_the_retry_to_the_default(served):
    served.provider.script(status(503).when(attempt=1, times=None), default=reply("retried"))
    assert ask(served, "a").status_code == 503
    assert ask(served, "a").json()["choices"][0]["message"]["content"] == "retried"
    # Another logical call starts at attempt 1 again.
    assert ask(served, "b").status_code == 503


def test_steps_matched_by_content_answer_concurrent_calls_in_any_order(served):
    served.provider.script(
        reply("for A").when(contains="user A"), reply("for B").when(contains="user B")
    )
    # B arrives first: it still gets B's step, and A gets A's.
    assert ask(served, "user B asks").json()["choices"][0]["message"]["content"] == "for B"
    assert ask(served, "user A asks").json()["choices"][0]["message"]["content"] == "for A"


def test_steps_matched_by_stream_or_not(served):
    served.provider.script(reply("streamed").when(stream=True), reply("plain").when(stream=False))
    assert ask(served, "q").json()["choices"][0]["message"]["content"] == "plain"
    events = sse_events(ask(served, "q", stream=True).text)
    text = "".join(
        json.loads(e)["choices"][0]["delta"].get("content") or ""
        for e in events
        if e != "[DONE]" and json.loads(e).get("choices")
    )
    assert text == "streamed"


def test_a_matched_step_is_used_up_after_its_times(served):
    served.provider.script(status(429).when(contains="q", times=2), default=reply("ok"))
    assert [ask(served, "q").status_code for _ in range(3)] == [429, 429, 200]


def test_matched_steps_can_be_scripted_over_the_control_api():
    provider = FakeProvider(control=True)
    with RunningProvider(provider) as running:
        base = running.base_url.removesuffix("/v1")
        step = {"kind": "status", "status": 502, "match": {"contains": "x"}, "times": None}
        assert httpx.post(f"{base}/_faultline/script", json={"steps": [step]}).status_code == 200
        assert [ask(running, "x").status_code for _ in range(2)] == [502, 502]
        bad = {"steps": [{"kind": "reply", "match": {"colour": "red"}}]}
        refused = httpx.post(f"{base}/_faultline/script", json=bad)
        assert refused.status_code == 400 and "match must be" in refused.text


def test_bad_matches_are_refused():
    with pytest.raises(ValueError, match="attempt counts from 1"):
        reply().when(attempt=0)
    with pytest.raises(ValueError, match="times must be at least 1"):
        reply().when(times=0)
