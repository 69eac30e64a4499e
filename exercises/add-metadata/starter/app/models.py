"""Request and response types of the HTTP API."""

from __future__ import annotations

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


class AnswerResponse(BaseModel):
    answer: str
    sources: list[Source]
