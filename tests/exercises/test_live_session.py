"""An exercise's live session on both backends: the candidate's real app beside the fake
provider in live mode, reached through the bridge, switched from the host."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import sandbox
import sandbox.live as live
from exercises import catalog
from exercises.live import CONTROL_SOCKET, Switchboard, live_spec
from tests.requirements import missing, require_bwrap, require_docker


@pytest.fixture(params=["bwrap", "docker"])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    require_bwrap() if name == "bwrap" else require_docker()
    status = sandbox.get_backend(name).status()
    if not status.available:
        missing(f"sandbox backend {name}: {status.detail}")
    return name


@pytest.fixture
def cancellation(backend: str) -> Iterator[tuple[live.LiveSession, Switchboard]]:
    exercise = catalog.find("cancellation")
    session = live.start(live_spec(exercise, exercise.solution_files()), backend)
    try:
        # Running, after retries if a loaded machine made a start miss its health timeout.
        status = session.wait_for(lambda st: st.state in ("running", "gave-up", "stopped"), 180)
        assert status.state == "running", status.detail
        yield session, Switchboard(session.socket(CONTROL_SOCKET))
    finally:
        session.stop()
        assert sandbox.get_backend(backend).leftovers(session.run_id) == []


def preview(session: live.LiveSession) -> httpx.Client:
    return httpx.Client(
        base_url="http://preview",
        transport=httpx.HTTPTransport(uds=str(session.app_socket)),
        timeout=30,
    )


def requests_until(board: Switchboard, done: Any) -> list[dict[str, Any]]:
    latest: dict[int, dict[str, Any]] = {}
    for event in board.follow():
        latest[event["request"]["id"]] = event["request"]
        if done(list(latest.values())):
            return list(latest.values())
    raise AssertionError("the request log ended")


def test_the_page_and_api_serve_and_the_switchboard_lists_the_exercise_scenarios(
    cancellation: tuple[live.LiveSession, Switchboard],
) -> None:
    session, board = cancellation
    page = preview(session).get("/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert preview(session).get("/api/papers").json()
    names = [s["name"] for s in board.state()["scenarios"]]
    assert names == [
        "healthy", "slow", "flaky", "outage", "garbage", "long-answer", "stalls-mid-answer",
    ]  # fmt: skip


def test_closing_the_preview_mid_answer_shows_cancelled_by_client_in_the_log(
    cancellation: tuple[live.LiveSession, Switchboard],
) -> None:
    session, board = cancellation
    board.switch("long-answer")
    with preview(session).stream(
        "POST", "/api/answers", json={"question": "what reduces hallucination?"}
    ) as answer:
        for line in answer.iter_lines():
            if line.startswith("event: token"):
                break  # the answer is streaming: close the tab
    # The reference solution cancels every upstream call when the reader leaves.
    seen = requests_until(
        board, lambda reqs: any(r["stream"] and r["outcome"] != "in-progress" for r in reqs)
    )
    assert seen, "no provider call was logged"
    assert all(r["scenario"] == "long-answer" for r in seen)
    assert any(r["cancelled"] and r["stream"] for r in seen), seen
