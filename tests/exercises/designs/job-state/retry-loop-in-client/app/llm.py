"""A small async client for an OpenAI-compatible chat-completions API."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from .config import Settings

# Worth another try: rate limits, overload, gateway trouble. Anything else in 4xx is
# our request's fault (bad key, bad body, unknown model) and will fail the same way again.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class ProviderError(Exception):
    """The provider did not give us a completion."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class LLMClient:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http

    async def complete(self, messages: list[dict[str, str]]) -> str:
        """Send the conversation and return the model's reply text, or raise ProviderError."""
        try:
            response = await self._http.post(
                f"{self._settings.llm_base_url}/chat/completions",
                json={"model": self._settings.llm_model, "messages": messages},
                headers={"Authorization": f"Bearer {self._settings.llm_api_key}"},
                timeout=self._settings.llm_timeout_seconds,
            )
        except httpx.TransportError as exc:
            raise ProviderError(
                f"provider unreachable ({type(exc).__name__})", retryable=True
            ) from exc
        if response.status_code >= 400:
            raise ProviderError(
                f"provider answered HTTP {response.status_code}",
                status=response.status_code,
                retryable=response.status_code in RETRYABLE_STATUSES,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            )
        try:
            data: dict[str, Any] = response.json()
            return str(data["choices"][0]["message"]["content"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ProviderError(
                "provider sent a response that is not a completion", retryable=False
            ) from exc

    async def complete_retrying(
        self,
        messages: list[dict[str, str]],
        *,
        max_attempts: int,
        backoff_base: float,
        on_attempt: Callable[[], None],
    ) -> str:
        """complete(), retrying transient failures: at most `max_attempts` calls, waiting
        backoff_base * 2**(n-1) (plus up to 25 % jitter) and at least Retry-After."""
        for attempt in range(1, max_attempts + 1):
            on_attempt()
            try:
                return await self.complete(messages)
            except ProviderError as exc:
                if not exc.retryable or attempt == max_attempts:
                    raise
                wait = backoff_base * 2 ** (attempt - 1) * random.uniform(1.0, 1.25)
                await asyncio.sleep(max(wait, exc.retry_after or 0.0))
        raise AssertionError("unreachable")
