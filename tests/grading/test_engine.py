"""The bridge between the sandbox's output lines and live test progress."""

from __future__ import annotations

import json
from typing import Any

from exercises import runner
from grading import engine


def progress(test_id: str) -> str:
    return runner.LINE_PREFIX + json.dumps({"id": test_id, "outcome": "passed"})


def test_each_progress_line_becomes_one_live_test_and_other_output_is_ignored() -> None:
    seen: list[dict[str, Any]] = []
    on_line = engine.live_test_parser(seen.append)
    for line in [
        progress("a"),
        "collected 2 items",
        runner.LINE_PREFIX + "{garbled",
        progress("b"),
    ]:
        on_line(line)
    assert [test["id"] for test in seen] == ["a", "b"]


def test_a_flood_of_progress_lines_stops_at_the_live_limit() -> None:
    # Candidate code in a visible run can print progress lines itself.
    seen: list[dict[str, Any]] = []
    on_line = engine.live_test_parser(seen.append)
    for i in range(engine.MAX_LIVE_TESTS + 5000):
        on_line(progress(f"t{i}"))
    assert len(seen) == engine.MAX_LIVE_TESTS
    assert seen[-1]["id"] == f"t{engine.MAX_LIVE_TESTS - 1}"
