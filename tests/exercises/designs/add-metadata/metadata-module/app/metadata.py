"""Answer metadata, kept apart from the routes: what the data team's charts read."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from pydantic import BaseModel, Field

from .llm import Completion, Usage

T = TypeVar("T")


class Metadata(BaseModel):
    model: str
    latency_ms: int = Field(ge=0)
    created_at: str  # RFC 3339, always UTC with an explicit +00:00
    usage: Usage | None  # as the provider reported it; None when it did not
    source_ids: list[str]


async def timed(call: Callable[[], Awaitable[T]]) -> tuple[T, int]:
    """Run the model call and measure it in whole milliseconds."""
    start = time.perf_counter()
    result = await call()
    return result, int((time.perf_counter() - start) * 1000)


def describe(completion: Completion, latency_ms: int, source_ids: list[str]) -> Metadata:
    return Metadata(
        model=completion.model,
        latency_ms=latency_ms,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        usage=completion.usage,
        source_ids=source_ids,
    )
