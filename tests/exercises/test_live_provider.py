"""The fake provider in live mode (faultkit/live.py): scenarios switched from the control
socket, a request log that followers read live, and no control API where the app is."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from exercises.faultkit.faults import Latency, Step, status
from exercises.faultkit.live import CustomScenario, LiveProvider, describe_step, serve


@dataclass
class Live:
    provider: LiveProvider
    port: int
    control: Path

    def app(self) -> httpx.Client:  # what the candidate's app reaches
        return httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)

    def switchboard(self) -> httpx.Client:  # what the platform reaches, from the host
        return httpx.Client(
            base_url="http://live", transport=httpx.HTTPTransport(uds=str(self.control)), timeout=30
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    custom = [
        CustomScenario("rate-limited", "every call gets 429", status(429, retry_after=2)),
    ]
    provider = LiveProvider(seed=1, custom=custom)
    port, control = _free_port(), tmp_path / "control.sock"
    loop = asyncio.new_event_loop()
    task: list[asyncio.Future[None]] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        task.append(asyncio.ensure_future(serve(provider, port, str(control))))
        try:
            loop.run_until_complete(task[0])
        except asyncio.CancelledError:
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not control.exists() or not _accepts(port):
        assert time.monotonic() < deadline, "live provider did not start"
        time.sleep(0.01)
    yield Live(provider, port, control)
    loop.call_soon_threadsafe(task[0].cancel)
    thread.join(timeout=10)


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def ask(client: httpx.Client, stream: bool = False) -> httpx.Response:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    return client.post("/v1/chat/completions", json=body)


def finished(live: Live) -> list[dict[str, Any]]:
    events = live.switchboard().get("/requests").json()["events"]
    return [e["request"] for e in events if e["request"]["outcome"] != "in-progress"]


def test_switching_to_slow_makes_the_next_call_slow_and_the_log_says_so(live: Live) -> None:
    board = live.switchboard()
    listed = board.get("/scenario").json()
    assert listed["scenario"] == "healthy"
    names = {s["name"]: s for s in listed["scenarios"]}
    assert {"healthy", "slow", "flaky", "outage", "garbage", "rate-limited"} <= set(names)
    assert names["rate-limited"] == {
        "name": "rate-limited", "description": "every call gets 429", "builtin": False,
    }  # fmt: skip
    assert board.post("/scenario", json={"name": "slow"}).json()["scenario"] == "slow"
    started = time.monotonic()
    assert ask(live.app()).status_code == 200
    assert time.monotonic() - started >= 2.0  # slow answers after 2-5 s
    (request,) = finished(live)
    assert request["scenario"] == "slow"
    assert request["fault"].startswith("answers after ")
    assert request["latency_ms"] >= 2000
    assert (request["status"], request["stream"], request["cancelled"]) == (200, False, False)


def test_an_exercise_scenario_applies_its_step(live: Live) -> None:
    live.switchboard().post("/scenario", json={"name": "rate-limited"}).raise_for_status()
    response = ask(live.app())
    assert (response.status_code, response.headers["retry-after"]) == (429, "2")
    (request,) = finished(live)
    assert (request["scenario"], request["fault"], request["status"]) == (
        "rate-limited", "HTTP 429, Retry-After 2 s", 429,
    )  # fmt: skip
    # Back to a built-in scenario: the exercise's step no longer applies.
    live.switchboard().post("/scenario", json={"name": "healthy"}).raise_for_status()
    assert ask(live.app()).status_code == 200


def test_an_unknown_scenario_is_refused_naming_the_known_ones(live: Live) -> None:
    response = live.switchboard().post("/scenario", json={"name": "nope"})
    assert response.status_code == 400
    assert "unknown scenario 'nope'" in response.json()["error"]
    assert "rate-limited" in response.json()["error"]
    assert live.switchboard().get("/scenario").json()["scenario"] == "healthy"


def test_the_app_cannot_reach_the_switchboard_on_its_loopback(live: Live) -> None:
    for path in ("/_faultline/scenario", "/scenario"):
        response = live.app().post(path, json={"name": "outage"})
        assert response.status_code == 404
    assert live.switchboard().get("/scenario").json()["scenario"] == "healthy"


def test_followers_see_a_call_arrive_and_a_client_hang_up_as_cancelled(live: Live) -> None:
    live.switchboard().post("/scenario", json={"name": "slow"}).raise_for_status()
    seen: list[dict[str, Any]] = []

    def follow() -> None:
        with live.switchboard().stream("GET", "/events?after=0") as events:
            for line in events.iter_lines():
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:])["request"])
                    if seen[-1]["outcome"] != "in-progress":
                        return

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    client = httpx.Client(base_url=f"http://127.0.0.1:{live.port}", timeout=0.5)
    with pytest.raises(httpx.ReadTimeout):  # the app gives up before slow answers
        ask(client, stream=True)
    follower.join(timeout=20)
    assert [r["outcome"] for r in seen] == ["in-progress", "disconnected"]
    assert seen[0]["stream"] is True and seen[0]["cancelled"] is False
    assert seen[1]["cancelled"] is True
    assert seen[1]["status"] is None  # it hung up before the first byte


def test_describe_step_names_the_fault() -> None:
    assert describe_step(Step("hang"), 0) == "never answers"
    assert describe_step(Step(stall_after=3), 0.1) == "answers, stream stalls after 3 chunks"
    assert describe_step(Step(usage=False), 2.5) == "answers after 2.5 s, no token usage"
    assert describe_step(status(503), 0) == "HTTP 503"
    assert describe_step(Step(per_token=Latency.uniform(0.1, 0.3)), 3.0) == (
        "answers after 3.0 s, streams a word every 0.2 s"
    )
