"""Settings, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    llm_base_url: str
    llm_model: str
    llm_api_key: str
    llm_timeout_seconds: float
    # Extraction jobs.
    max_active: int  # jobs talking to the provider at once, across all extractions
    max_attempts: int  # provider calls per job, the first one included
    job_timeout_seconds: float  # time a job may spend active, retries and waits included
    backoff_base_seconds: float  # wait before retry n is at least base * 2**(n-1)


def _number(name: str, default: str, kind: type[int] | type[float], minimum: float) -> float:
    raw = os.environ.get(name, default)
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {raw!r}")
    return value


def load_settings() -> Settings:
    return Settings(
        llm_base_url=os.environ.get("LLM_BASE_URL", "http://127.0.0.1:9100/v1").rstrip("/"),
        llm_model=os.environ.get("LLM_MODEL", "gpt-4o-mini"),
        llm_api_key=os.environ.get("LLM_API_KEY", "not-needed"),
        llm_timeout_seconds=_number("LLM_TIMEOUT_SECONDS", "20", float, 0.001),
        max_active=int(_number("EXTRACT_MAX_ACTIVE", "4", int, 1)),
        max_attempts=int(_number("EXTRACT_MAX_ATTEMPTS", "4", int, 1)),
        job_timeout_seconds=_number("EXTRACT_JOB_TIMEOUT_SECONDS", "60", float, 0.001),
        backoff_base_seconds=_number("EXTRACT_BACKOFF_BASE_SECONDS", "0.5", float, 0.0),
    )
