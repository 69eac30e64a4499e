"""A small async client for an OpenAI-compatible chat-completions API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Literal

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


class StreamEnd(BaseModel):
    """What a stream reports after its last token."""

    model: str
    usage: Usage | None  # None when the provider did not report it
    finish_reason: str | None


class LLMError(Exception):
    """The provider could not give an answer.

    `status_code` is what the JSON API answers; `code` is what an event stream reports."""

    status_code = 502
    code: Literal["timeout", "provider_error"] = "provider_error"


class LLMUnavailable(LLMError):
    status_code = 503


class LLMTimeout(LLMError):
    status_code = 504
    code = "timeout"


class _Message(BaseModel):
    content: str


class _Choice(BaseModel):
    message: _Message


class _ChatResponse(BaseModel):
    model: str
    choices: list[_Choice]
    usage: Usage | None = None


async def _sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The `data` of each complete server-sent event (multi-line data joined by \n).

    An event cut off by the end of the stream is never yielded: it is not known whole."""
    data: list[str] = []
    async for line in lines:
        if line == "":
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
        # Comments (":keep-alive") and other fields (event, id, retry) carry no tokens.


def _chunk_dict(data: str) -> dict[str, Any]:
    """One chunk of the provider's stream, checked by hand rather than by a model."""
    try:
        raw: Any = json.loads(data)
    except ValueError as exc:
        raise LLMError("the model provider sent a malformed chunk") from exc
    if not isinstance(raw, dict):
        raise LLMError("the model provider sent an invalid chunk")
    if "error" in raw:
        raise LLMError("the model provider reported an error mid-stream")
    choices = raw.get("choices")
    if not isinstance(raw.get("model"), str) or not isinstance(choices, list):
        raise LLMError("the model provider sent an invalid chunk")
    if choices and not isinstance(choices[0], dict):
        raise LLMError("the model provider sent an invalid chunk")
    return raw


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

    async def stream(self, messages: list[dict[str, str]]) -> AsyncIterator[str | StreamEnd]:
        """Yield the reply's text pieces as the provider sends them, then one StreamEnd.

        Raises LLMError when the provider fails, goes quiet for longer than the timeout,
        sends a chunk that is not a valid completion chunk, or ends the stream early:
        a stream is complete only when the provider says `[DONE]`."""
        body = {
            "model": self._settings.llm_model,
            "messages": messages,
            "stream": True,
            # Without this an OpenAI-compatible provider reports no usage in a stream.
            "stream_options": {"include_usage": True},
        }
        model: str | None = None
        usage: Usage | None = None
        finish_reason: str | None = None
        try:
            async with self._http.stream(
                "POST",
                f"{self._settings.llm_base_url}/chat/completions",
                json=body,
                headers={"Authorization": f"Bearer {self._settings.llm_api_key}"},
                # A read timeout bounds each wait for the next bytes, so this is an
                # idle timeout: a long answer is fine, a provider that stalls is not.
                timeout=self._settings.llm_timeout_seconds,
            ) as response:
                if response.status_code in (429, 503):
                    raise LLMUnavailable(
                        f"the model provider is busy (HTTP {response.status_code})"
                    )
                if response.status_code != 200:
                    raise LLMError(f"the model provider failed (HTTP {response.status_code})")
                if not response.headers.get("content-type", "").startswith("text/event-stream"):
                    raise LLMError("the model provider did not send an event stream")
                async for data in _sse_data(response.aiter_lines()):
                    if data.strip() == "[DONE]":
                        if model is None:
                            raise LLMError("the model provider sent no answer")
                        yield StreamEnd(model=model, usage=usage, finish_reason=finish_reason)
                        return
                    chunk = _chunk_dict(data)
                    model = chunk["model"]
                    if chunk.get("usage") is not None:
                        try:
                            usage = Usage.model_validate(chunk["usage"])
                        except ValidationError as exc:
                            raise LLMError("the model provider sent invalid usage") from exc
                    choices = chunk["choices"]
                    if choices:
                        # The finishing chunk says why the answer ended; later ones (usage)
                        # carry no choice.
                        text = (choices[0].get("delta") or {}).get("content")
                        if isinstance(text, str) and text:
                            yield text
                        if isinstance(choices[0].get("finish_reason"), str):
                            finish_reason = choices[0]["finish_reason"]
        except httpx.TimeoutException as exc:
            raise LLMTimeout("the model provider stopped answering") from exc
        except httpx.HTTPError as exc:
            raise LLMUnavailable("the model provider broke off the answer") from exc
        raise LLMError("the model provider's stream ended before it was complete")
