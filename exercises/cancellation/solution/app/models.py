"""Request and response types of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class Paper(BaseModel):
    id: str
    title: str
    authors: list[str]
    year: int
    abstract: str


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    # None: pick papers by searching for the question.
    paper_ids: list[str] | None = None


class Source(BaseModel):
    id: str
    title: str
    year: int


class Note(BaseModel):
    """What the model found in one paper about the question."""

    paper_id: str
    text: str


AnswerStatus = Literal["running", "complete", "failed", "cancelled"]


class Answer(BaseModel):
    """One question and what became of it, as kept in the answer store."""

    id: str
    question: str
    status: AnswerStatus
    sources: list[Source]
    notes: list[Note] = []
    answer: str | None = None  # the synthesised answer, once complete
    error: str | None = None  # why it failed
    created_at: datetime
    finished_at: datetime | None = None
