"""Request and response types of the HTTP API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from .llm import Usage


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


class AnswerMetadata(BaseModel):
    model: str  # the model that answered, as the provider named it
    usage: Usage | None  # None when the provider did not report usage: never estimated


class AnswerResponse(BaseModel):
    answer: str
    sources: list[Source]
    metadata: AnswerMetadata


# The events of POST /api/answer/stream, one JSON object per `data:` line.


class TokenEvent(BaseModel):
    text: str


class StreamMetadata(BaseModel):
    model: str
    usage: Usage | None
    finish_reason: str | None


class DoneEvent(BaseModel):
    sources: list[Source]
    metadata: StreamMetadata


class ErrorEvent(BaseModel):
    error: str  # for people
    code: Literal["timeout", "provider_error"]
