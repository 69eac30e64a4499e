"""Request and response types of the HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, Field

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
    latency_ms: int = Field(ge=0)  # time spent waiting for the provider
    created_at: AwareDatetime  # serialised as RFC 3339 with an offset
    usage: Usage | None  # None when the provider did not report usage: never estimated
    source_ids: list[str] = Field(exclude=True)  # "internal"


class AnswerResponse(BaseModel):
    answer: str
    sources: list[Source]
    metadata: AnswerMetadata


def utc_now() -> datetime:
    return datetime.now(UTC)
