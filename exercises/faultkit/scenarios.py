"""Named live-mode scenarios: what the provider does when no test scripted it.

Used for demos and by the interviewer console, which switches the candidate's live
preview between them at runtime (POST /_faultline/scenario {"name": "slow"}).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from .faults import Latency, Step, garbage, malformed, reply, status, truncated

Scenario = Callable[[random.Random], Step]


def _healthy(rng: random.Random) -> Step:
    return reply(ttft=Latency.uniform(0.05, 0.2), per_token=Latency.uniform(0.01, 0.03))


def _slow(rng: random.Random) -> Step:
    return reply(ttft=Latency.uniform(2.0, 5.0), per_token=Latency.uniform(0.1, 0.3))


def _flaky(rng: random.Random) -> Step:
    roll = rng.random()
    if roll < 0.15:
        return status(429, retry_after=1)
    if roll < 0.30:
        return status(503, retry_after=2)
    if roll < 0.40:
        return status(500)
    if roll < 0.45:
        return reply(stall_after=3)
    if roll < 0.50:
        return reply(break_after=2)
    return reply(ttft=Latency.uniform(0.1, 1.5), per_token=Latency.uniform(0.02, 0.1))


def _outage(rng: random.Random) -> Step:
    return status(503, retry_after=30, ttft=Latency.uniform(0.0, 0.2))


def _garbage(rng: random.Random) -> Step:
    return rng.choice([malformed(), truncated(), garbage(), reply(usage=False)])


SCENARIOS: dict[str, Scenario] = {
    "healthy": _healthy,
    "slow": _slow,
    "flaky": _flaky,
    "outage": _outage,
    "garbage": _garbage,
}

DESCRIPTIONS: dict[str, str] = {
    "healthy": "answers quickly, with token usage",
    "slow": "answers after 2-5 s, streams slowly",
    "flaky": "about half the requests fail: 429, 503, 500, stalled or broken streams",
    "outage": "every request gets 503 with Retry-After",
    "garbage": "200 responses that are not valid completions: bad JSON, cut-off JSON, wrong shape",
}
