"""Request and response types of the HTTP API."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints


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


FieldName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class ExtractRequest(BaseModel):
    paper_ids: list[str] = Field(min_length=1, max_length=50)
    fields: list[FieldName] = Field(min_length=1, max_length=20)


class PaperExtraction(BaseModel):
    paper_id: str
    result: str


class ExtractResponse(BaseModel):
    results: list[PaperExtraction]
