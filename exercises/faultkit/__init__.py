"""The fault kit: a scriptable OpenAI-compatible fake model provider and its pytest plugin.

This package is copied verbatim into sandboxes (as the top-level package `faultkit`),
so it uses only relative imports and depends only on the sandbox runtime
(stdlib, uvicorn, httpx, pytest).
"""

from .faults import Latency, Match, Step, garbage, hang, malformed, reply, status, truncated
from .provider import FakeProvider, RequestRecord, RunningProvider

__all__ = [
    "FakeProvider",
    "Latency",
    "Match",
    "RequestRecord",
    "RunningProvider",
    "Step",
    "garbage",
    "hang",
    "malformed",
    "reply",
    "status",
    "truncated",
]
