"""Helpers for the hidden suite: a browser tab reading the answer stream, and waiting.

Every wait has a deadline stated in the test ("within 2 s"); the reference solution
meets it in milliseconds, so the margins absorb a slow, shared machine.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest

# How long after the user leaves (or presses Stop) the work must have stopped.
CANCEL_BOUND_SECONDS = 2.0
QUESTION = "Does retrieval reduce hallucination?"
# What the provider answers a paper's note call with. The synthesis is the call whose
# prompt carries the notes, so scripts match it by this text: neither by arrival order
# nor by streaming or not, which a correct design may choose differently.
NOTE = "Note from the fake provider."
FINAL_EVENTS = {"done", "error", "cancelled"}

T = TypeVar("T")


class AnswerStream:
    """One browser tab streaming POST /api/answers over its own connection."""

    def __init__(self, app_url: str, body: dict[str, Any]) -> None:
        # A client per tab: closing it really closes the TCP connection, as a tab does.
        self._client = httpx.Client(base_url=app_url, timeout=httpx.Timeout(10.0))
        self._context = self._client.stream("POST", "/api/answers", json=body)
        self.response = self._context.__enter__()
        if self.response.status_code != 200:
            text = self.response.read().decode(errors="replace")[:300]
            self.close()
            pytest.fail(f"POST /api/answers answered {self.response.status_code}: {text}")
        self._lines = self.response.iter_lines()
        self.events: list[tuple[str, Any]] = []
        self.ended = False
        self.closed = False
        self.id: str | None = None

    def next_event(self) -> tuple[str, Any] | None:
        """The next event, or None when the server ended the stream."""
        name, data = "message", []
        try:
            for line in self._lines:
                if line == "":
                    if data:
                        event = (name, json.loads("\n".join(data)))
                        self.events.append(event)
                        if name == "created" and isinstance(event[1], dict):
                            self.id = event[1].get("id")
                        return event
                    name = "message"
                elif line.startswith("event:"):
                    name = line[len("event:") :].strip()
                elif line.startswith("data:"):
                    data.append(line[len("data:") :].strip())
        except httpx.ReadTimeout:
            pytest.fail(f"the stream sent nothing for 10 s; events so far: {self.names()}")
        except httpx.HTTPError as exc:
            pytest.fail(f"the stream broke: {type(exc).__name__}: {exc}; events: {self.names()}")
        self.ended = True
        return None

    def until(self, name: str) -> Any:
        """Read until an event called `name`; return its data."""
        while (event := self.next_event()) is not None:
            if event[0] == name:
                return event[1]
            if event[0] in FINAL_EVENTS:
                break
        pytest.fail(f"the stream ended without a {name!r} event; events: {self.names()}")

    def read_to_end(self) -> list[tuple[str, Any]]:
        while self.next_event() is not None:
            pass
        return self.events

    def names(self) -> list[str]:
        return [n for n, _ in self.events]

    def close(self) -> None:
        """The user closes the tab."""
        if self.closed:
            return
        self.closed = True
        try:
            self._context.__exit__(None, None, None)
        finally:
            self._client.close()


def wait_for_note_calls(provider: Any, papers: int) -> None:
    """Wait until the app calls the provider once per paper, all at once; skip when it
    never does: reading the papers one at a time is the parallel test's failure, and this
    test's verdict would claim what it never saw."""
    if not provider.wait_until(lambda rs: len(rs) >= papers, timeout=5):
        pytest.skip(
            f"{len(provider.requests)} of {papers} note calls started at once: "
            "judged by the parallel-reading test"
        )


def wait_for(
    probe: Callable[[], T], done: Callable[[T], bool], timeout: float, interval: float = 0.05
) -> T:
    """Call `probe` until `done(value)` holds or `timeout` passes; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value) or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def debug_tasks(app: httpx.Client) -> dict[str, Any]:
    response = app.get("/debug/tasks")
    assert response.status_code == 200, f"GET /debug/tasks answered {response.status_code}"
    data = response.json()
    assert isinstance(data.get("count"), int), f"GET /debug/tasks gave {data}"
    return data


def settled_task_count(app: httpx.Client) -> int:
    """The app's task count once it stops changing (what an idle app runs)."""
    last = debug_tasks(app)["count"]
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = debug_tasks(app)["count"]
        if now == last:
            return now
        last = now
    return last


def assert_tasks_back_to(app: httpx.Client, baseline: int, what: str) -> None:
    data = wait_for(
        lambda: debug_tasks(app), lambda d: d["count"] <= baseline, CANCEL_BOUND_SECONDS
    )
    assert data["count"] <= baseline, (
        f"{what}: {data['count'] - baseline} more task(s) still running "
        f"{CANCEL_BOUND_SECONDS:.0f} s later than before: {data['tasks']}"
    )


def get_answer(app: httpx.Client, answer_id: str | None) -> dict[str, Any]:
    assert answer_id, "the stream did not start with a created event carrying the answer id"
    response = app.get(f"/api/answers/{answer_id}")
    assert response.status_code == 200, f"GET /api/answers/{answer_id}: {response.status_code}"
    data: dict[str, Any] = response.json()
    return data


def settled_status(app: httpx.Client, answer_id: str | None) -> dict[str, Any]:
    """The stored answer once it has left "running" (or after the bound)."""
    return wait_for(
        lambda: get_answer(app, answer_id),
        lambda a: a.get("status") != "running",
        CANCEL_BOUND_SECONDS,
    )
