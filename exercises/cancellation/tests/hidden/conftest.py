"""Fixtures for the hidden suite (the helpers live in answer_stream.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from answer_stream import QUESTION, AnswerStream


@pytest.fixture
def open_stream(app_url: str) -> Iterator[Callable[..., AnswerStream]]:
    streams: list[AnswerStream] = []

    def opener(paper_ids: list[str], question: str = QUESTION) -> AnswerStream:
        stream = AnswerStream(app_url, {"question": question, "paper_ids": paper_ids})
        streams.append(stream)
        return stream

    yield opener
    for stream in streams:
        stream.close()
