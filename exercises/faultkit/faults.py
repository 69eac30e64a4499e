"""Fault steps: what the fake provider does with one request.

A hidden test scripts the provider with a list of steps and a default step for every
request no step takes. A plain step takes the next request that arrives; a step made
with `.when(...)` takes only a request that matches it (the attempt number of the same
logical call, text in its messages, streaming or not), so a correct client that
retries, makes an extra call or calls concurrently still meets the step the test meant.
Random choices (latencies, which flaky request fails) come from one
`random.Random(seed)`, so a seed fixes the run.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

Kind = Literal["reply", "status", "hang", "malformed", "truncated", "garbage"]
KINDS: tuple[str, ...] = ("reply", "status", "hang", "malformed", "truncated", "garbage")


@dataclass(frozen=True)
class Latency:
    """A delay distribution in seconds: fixed, uniform(low, high) or normal(mean, sd) >= 0."""

    kind: Literal["fixed", "uniform", "normal"] = "fixed"
    a: float = 0.0
    b: float = 0.0

    @classmethod
    def fixed(cls, seconds: float) -> Latency:
        return cls("fixed", seconds, seconds)

    @classmethod
    def uniform(cls, low: float, high: float) -> Latency:
        return cls("uniform", low, high)

    @classmethod
    def normal(cls, mean: float, sd: float) -> Latency:
        return cls("normal", mean, sd)

    def sample(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            return self.a
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        return max(0.0, rng.gauss(self.a, self.b))

    @classmethod
    def parse(cls, value: Any) -> Latency:
        """A number means fixed; a dict is {"kind", "a", "b"}."""
        if isinstance(value, Latency):
            return value
        if isinstance(value, int | float):
            return cls.fixed(float(value))
        if isinstance(value, dict) and value.get("kind") in {"fixed", "uniform", "normal"}:
            return cls(value["kind"], float(value.get("a", 0.0)), float(value.get("b", 0.0)))
        raise ValueError(f"latency must be a number or {{kind, a, b}}, got {value!r}")


@dataclass(frozen=True)
class Match:
    """Which requests a step answers; None means any.

    attempt   1 for the first request of a logical call, 2 for its first retry, ...
              (a logical call is every request with the same JSON body: a retry
              resends the same body)
    contains  text found in the request's messages (a question, a paper's [p3] tag)
    stream    True: streaming requests only; False: non-streaming only
    """

    attempt: int | None = None
    contains: str | None = None
    stream: bool | None = None

    def matches(self, *, attempt: int, text: str, stream: bool) -> bool:
        return (
            (self.attempt is None or self.attempt == attempt)
            and (self.contains is None or self.contains in text)
            and (self.stream is None or self.stream == stream)
        )

    @classmethod
    def parse(cls, value: Any) -> Match | None:
        if value is None or isinstance(value, Match):
            return value
        if not isinstance(value, dict) or set(value) - {"attempt", "contains", "stream"}:
            raise ValueError(f"match must be {{attempt, contains, stream}}, got {value!r}")
        return cls(value.get("attempt"), value.get("contains"), value.get("stream"))


@dataclass(frozen=True)
class Step:
    """One scripted provider behaviour.

    reply      200 with a completion (streamed when the request asks for it)
    status     an error status (429 with Retry-After, 500, 503...) with an OpenAI error body
    hang       never answers; waits for the client to give up
    malformed  200 with a body that is not JSON
    truncated  200 with JSON cut off in the middle (or a stream cut off mid-chunk)
    garbage    200 with valid JSON of the wrong shape (no `choices`)

    Stream faults of a `reply` (ignored when the request does not stream):
    stall_after / break_after  stop sending (open) / drop the connection after n chunks
    malformed_after  after n content chunks, one event that is not JSON (a chunk cut off
                     mid-object); the stream then carries on and ends normally with [DONE]
    error_after      after n content chunks, an in-band `{"error": {...}}` event; the stream
                     then carries on and ends normally, so only that object tells
    finish_with_last the last text rides in the chunk that carries finish_reason
    finish_reason    the finish reason the answer reports ("length": cut at max_tokens)
    hold_after       after n content chunks, wait until the test calls `provider.release()`,
                     then carry on; the held stream sends an empty delta every 0.25 s
                     (an idle timeout does not fire); a non-streamed reply waits before
                     its body. A test proves "B was mid-answer when A left"
                     this way, without betting on how fast the machine is.
    (n counts content chunks; n >= their number puts the event after the last one.)
    """

    kind: Kind = "reply"
    content: str | None = None  # None: a canned answer
    model: str | None = None  # None: echo the requested model
    usage: bool = True  # include token usage in the response
    ttft: Latency = field(default_factory=Latency)  # delay before the first byte
    per_token: Latency = field(default_factory=Latency)  # delay between stream chunks
    stall_after: int | None = None  # stream: stop sending after n content chunks, keep open
    break_after: int | None = None  # stream: drop the connection after n content chunks
    malformed_after: int | None = None  # stream: a non-JSON event after n content chunks
    error_after: int | None = None  # stream: an in-band {"error": ...} after n content chunks
    finish_with_last: bool = False  # stream: last text and finish_reason in one chunk
    finish_reason: str = "stop"  # the answer's finish_reason, streamed or not
    hold_after: int | None = None  # wait after n content chunks until provider.release()
    status: int = 200
    retry_after: float | None = None  # seconds, for 429/503
    match: Match | None = None  # None: the next request, whatever it is
    times: int | None = 1  # how many requests the step answers; None: every matching one

    def when(
        self,
        *,
        attempt: int | None = None,
        contains: str | None = None,
        stream: bool | None = None,
        times: int | None = 1,
    ) -> Step:
        """This step, answering only requests that match (see Match); `times=None`
        answers every one of them, e.g. every retry of one logical call."""
        if attempt is not None and attempt < 1:
            raise ValueError(f"attempt counts from 1, got {attempt}")
        if times is not None and times < 1:
            raise ValueError(f"times must be at least 1 (or None for always), got {times}")
        return replace(self, match=Match(attempt, contains, stream), times=times)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(
                f"unknown step fields: {sorted(unknown)}; expected some of {sorted(known)}"
            )
        if data.get("kind", "reply") not in KINDS:
            raise ValueError(f"step kind must be one of {KINDS}, got {data.get('kind')!r}")
        values = dict(data)
        for name in ("ttft", "per_token"):
            if name in values:
                values[name] = Latency.parse(values[name])
        if "match" in values:
            values["match"] = Match.parse(values["match"])
        return cls(**values)

    def but(self, **changes: Any) -> Step:
        return replace(self, **changes)


def reply(
    content: str | None = None,
    *,
    model: str | None = None,
    usage: bool = True,
    ttft: float | Latency = 0.0,
    per_token: float | Latency = 0.0,
    stall_after: int | None = None,
    break_after: int | None = None,
    malformed_after: int | None = None,
    error_after: int | None = None,
    finish_with_last: bool = False,
    finish_reason: str = "stop",
    hold_after: int | None = None,
) -> Step:
    for name, n in (
        ("hold_after", hold_after),
        ("stall_after", stall_after),
        ("break_after", break_after),
        ("malformed_after", malformed_after),
        ("error_after", error_after),
    ):
        if n is not None and n < 0:
            raise ValueError(f"{name} must be a count of chunks (>= 0), got {n}")
    return Step(
        "reply",
        content=content,
        model=model,
        usage=usage,
        ttft=Latency.parse(ttft),
        per_token=Latency.parse(per_token),
        stall_after=stall_after,
        break_after=break_after,
        malformed_after=malformed_after,
        error_after=error_after,
        finish_with_last=finish_with_last,
        finish_reason=finish_reason,
        hold_after=hold_after,
    )


def status(code: int, *, retry_after: float | None = None, ttft: float | Latency = 0.0) -> Step:
    return Step("status", status=code, retry_after=retry_after, ttft=Latency.parse(ttft))


def hang() -> Step:
    return Step("hang")


def malformed(*, ttft: float | Latency = 0.0) -> Step:
    return Step("malformed", ttft=Latency.parse(ttft))


def truncated(*, ttft: float | Latency = 0.0) -> Step:
    return Step("truncated", ttft=Latency.parse(ttft))


def garbage(*, ttft: float | Latency = 0.0) -> Step:
    return Step("garbage", ttft=Latency.parse(ttft))
