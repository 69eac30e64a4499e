"""Request and response types of the HTTP API."""

from __future__ import annotations

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
