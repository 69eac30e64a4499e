"""A small async client for an OpenAI-compatible chat-completions API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from .config import Settings


class LLMError(Exception):
    """The provider could not give an answer (unreachable, error status, bad response)."""


class LLMClient:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http

    def _request(self, messages: list[dict[str, str]], *, stream: bool) -> dict[str, Any]:
        return {
            "url": f"{self._settings.llm_base_url}/chat/completions",
            "json": {"model": self._settings.llm_model, "messages": messages, "stream": stream},
            "headers": {"Authorization": f"Bearer {self._settings.llm_api_key}"},
            "timeout": self._settings.llm_timeout_seconds,
        }

    async def complete(self, messages: list[dict[str, str]]) -> str:
        """Send the conversation and return the model's whole reply; 429 and 5xx are
        retried twice with a short backoff, as the OpenAI SDK does."""
        for attempt in range(3):
            try:
                response = await self._http.post(**self._request(messages, stream=False))
            except httpx.HTTPError as exc:
                raise LLMError(f"the model provider is unreachable ({type(exc).__name__})") from exc
            transient = response.status_code == 429 or response.status_code >= 500
            if not transient or attempt == 2:
                break
            await asyncio.sleep(0.05 * 2**attempt)
        if response.status_code != 200:
            raise LLMError(f"the model provider failed (HTTP {response.status_code})")
        try:
            data: Any = response.json()
            return str(data["choices"][0]["message"]["content"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMError("the model provider sent an invalid response") from exc

    async def stream(self, messages: list[dict[str, str]]) -> AsyncIterator[str]:
        """Send the conversation and yield the reply's text pieces as they arrive."""
        try:
            async with self._http.stream("POST", **self._request(messages, stream=True)) as r:
                if r.status_code != 200:
                    raise LLMError(f"the model provider failed (HTTP {r.status_code})")
                finished = False
                async for line in r.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[len("data:") :].strip()
                    if data == "[DONE]":
                        finished = True
                        break
                    try:
                        chunk: Any = json.loads(data)
                    except ValueError as exc:
                        raise LLMError("the model provider sent an invalid chunk") from exc
                    for choice in chunk.get("choices") or []:
                        piece = (choice.get("delta") or {}).get("content")
                        if piece:
                            yield piece
                if not finished:
                    raise LLMError("the model provider's stream broke off")
        except httpx.HTTPError as exc:
            raise LLMError(f"the model provider is unreachable ({type(exc).__name__})") from exc
