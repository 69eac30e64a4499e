"""A small async client for an OpenAI-compatible chat-completions API."""

from __future__ import annotations

from typing import Any

import httpx

from .config import Settings


class LLMClient:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http

    async def complete(self, messages: list[dict[str, str]]) -> str:
        """Send the conversation and return the model's reply text."""
        response = await self._http.post(
            f"{self._settings.llm_base_url}/chat/completions",
            json={"model": self._settings.llm_model, "messages": messages},
            headers={"Authorization": f"Bearer {self._settings.llm_api_key}"},
            timeout=self._settings.llm_timeout_seconds,
        )
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return str(data["choices"][0]["message"]["content"])
