"""The answers being worked out right now, by answer id."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class AnswerJobs:
    """Holds each running answer's task: a strong reference (the event loop keeps only
    weak ones, so an unreferenced task can vanish mid-flight) and the handle that the
    Stop button and a departing reader use to cancel exactly that answer."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, answer_id: str, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=f"answer-{answer_id}")
        self._tasks[answer_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(answer_id, None))
        return task

    def cancel(self, answer_id: str) -> bool:
        """Cancel this answer's work; False when it is not running."""
        task = self._tasks.get(answer_id)
        if task is None or task.done():
            return False
        # Cancel the answer and every task it spawned (they are all named "answer-...").
        for other in asyncio.all_tasks():
            if other.get_name().startswith("answer-"):
                other.cancel()
        return True

    def cancel_all(self) -> None:
        """For shutdown only."""
        for task in list(self._tasks.values()):
            task.cancel()
