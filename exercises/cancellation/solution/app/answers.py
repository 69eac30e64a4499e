"""The answer store: every question asked, with its status, kept in memory."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from .models import Answer, Note, Source


def _now() -> datetime:
    return datetime.now(UTC)


class AnswerStore:
    def __init__(self) -> None:
        self._answers: dict[str, Answer] = {}

    def create(self, question: str, sources: list[Source]) -> Answer:
        answer = Answer(
            id=uuid.uuid4().hex[:12],
            question=question,
            status="running",
            sources=sources,
            created_at=_now(),
        )
        self._answers[answer.id] = answer
        return answer

    def get(self, answer_id: str) -> Answer | None:
        return self._answers.get(answer_id)

    def recent(self, limit: int = 20) -> list[Answer]:
        """The newest answers first."""
        return sorted(self._answers.values(), key=lambda a: a.created_at, reverse=True)[:limit]

    def add_note(self, answer_id: str, note: Note) -> None:
        self._answers[answer_id].notes.append(note)

    # An answer leaves "running" once and for all: a late finisher (the synthesis that
    # completes just as the user presses Stop) must not overwrite "cancelled", and a
    # cancel that arrives after completion must not hide a finished answer.

    def complete(self, answer_id: str, text: str) -> Answer:
        answer = self._answers[answer_id]
        if answer.status == "running":
            answer.answer = text
            answer.status = "complete"
            answer.finished_at = _now()
        return answer

    def fail(self, answer_id: str, message: str) -> Answer:
        answer = self._answers[answer_id]
        if answer.status == "running":
            answer.error = message
            answer.status = "failed"
            answer.finished_at = _now()
        return answer

    def cancel(self, answer_id: str) -> Answer:
        """Mark a running answer cancelled; its partial text is never kept as an answer."""
        answer = self._answers[answer_id]
        if answer.status == "running":
            answer.status = "cancelled"
            answer.finished_at = _now()
        return answer
