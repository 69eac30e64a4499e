"""A small async client for an OpenAI-compatible chat-completions API."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from .config import Settings


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Completion(BaseModel):
    text: str
    model: str
    usage: Usage | None  # None when the provider did not report it


class LLMError(Exception):
    """The provider could not give an answer; `status_code` is what our API should answer."""

    status_code = 502

    def __init__(
        self, message: str, *, retry_after: str | None = None, retryable: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.retryable = retryable


class LLMUnavailable(LLMError):
    status_code = 503


class LLMTimeout(LLMError):
    status_code = 504


class LLMBadResponse(LLMError):
    status_code = 502


class _Message(BaseModel):
    content: str


class _Choice(BaseModel):
    message: _Message


class _ChatResponse(BaseModel):
    model: str
    choices: list[_Choice]
    usage: Usage | None = None


class LLMClient:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http

    async def complete(self, messages: list[dict[str, str]]) -> Completion:
        """Like the official OpenAI SDK: 408, 409, 429, 5xx and connection errors are
        retried twice with a short backoff (honouring a short Retry-After), then raised."""
        for attempt in range(3):
            try:
                return await self._complete_once(messages)
            except LLMError as exc:
                if attempt == 2 or not exc.retryable:
                    raise
                wait = 0.05 * 2**attempt
                if exc.retry_after is not None:
                    try:
                        wait = max(wait, min(float(exc.retry_after), 1.0))
                    except ValueError:
                        pass
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _complete_once(self, messages: list[dict[str, str]]) -> Completion:
        try:
            response = await self._http.post(
                f"{self._settings.llm_base_url}/chat/completions",
                json={"model": self._settings.llm_model, "messages": messages},
                headers={"Authorization": f"Bearer {self._settings.llm_api_key}"},
                timeout=self._settings.llm_timeout_seconds,
            )
        except httpx.TimeoutException as exc:
            raise LLMTimeout("the model provider timed out", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise LLMUnavailable("the model provider is unreachable", retryable=True) from exc
        retryable = response.status_code in (408, 409, 429) or response.status_code >= 500
        if response.status_code in (429, 503):
            raise LLMUnavailable(
                f"the model provider is busy (HTTP {response.status_code})",
                retry_after=response.headers.get("retry-after"),
                retryable=True,
            )
        if response.status_code != 200:
            raise LLMBadResponse(
                f"the model provider failed (HTTP {response.status_code})", retryable=retryable
            )
        try:
            data: Any = response.json()
            parsed = _ChatResponse.model_validate(data)
        except (ValueError, ValidationError) as exc:
            raise LLMBadResponse("the model provider sent an invalid response") from exc
        if not parsed.choices:
            raise LLMBadResponse("the model provider sent no answer")
        return Completion(
            text=parsed.choices[0].message.content, model=parsed.model, usage=parsed.usage
        )
