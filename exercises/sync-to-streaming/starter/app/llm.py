"""A small async client for an OpenAI-compatible chat-completions API."""

from __future__ import annotations

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
    """The provider could not give an answer; `status_code` is what our API answers."""

    status_code = 502


class LLMUnavailable(LLMError):
    status_code = 503


class LLMTimeout(LLMError):
    status_code = 504


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
        """Send the conversation and wait for the whole reply.

        Raises LLMError for anything but a well-formed answer."""
        try:
            response = await self._http.post(
                f"{self._settings.llm_base_url}/chat/completions",
                json={"model": self._settings.llm_model, "messages": messages},
                headers={"Authorization": f"Bearer {self._settings.llm_api_key}"},
                timeout=self._settings.llm_timeout_seconds,
            )
        except httpx.TimeoutException as exc:
            raise LLMTimeout("the model provider timed out") from exc
        except httpx.HTTPError as exc:
            raise LLMUnavailable("the model provider is unreachable") from exc
        if response.status_code in (429, 503):
            raise LLMUnavailable(f"the model provider is busy (HTTP {response.status_code})")
        if response.status_code != 200:
            raise LLMError(f"the model provider failed (HTTP {response.status_code})")
        try:
            data: Any = response.json()
            parsed = _ChatResponse.model_validate(data)
        except (ValueError, ValidationError) as exc:
            raise LLMError("the model provider sent an invalid response") from exc
        if not parsed.choices:
            raise LLMError("the model provider sent no answer")
        return Completion(
            text=parsed.choices[0].message.content, model=parsed.model, usage=parsed.usage
        )
