"""An OpenAI-compatible fake model provider that injects scripted, seeded faults.

Raw ASGI (no framework) because the interesting part is the transport: when the
first byte leaves, when a stream stalls or breaks, and when the client hangs up.
Every request is recorded so a test can assert what the app sent and that a
cancellation really reached upstream.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .faults import Step
from .scenarios import DESCRIPTIONS, SCENARIOS

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DEFAULT_ANSWER = (
    "Based on the papers provided, retrieval-augmented generation reduces hallucination "
    "when the retrieved passages are relevant, and the effect is strongest for questions "
    "that need specific facts."
)
# A hung request is released after this long even if the client never gives up,
# so a provider never keeps a test run alive forever.
HANG_CEILING_SECONDS = 120.0
HOLD_BEAT_SECONDS = 0.25


class _BreakConnection(Exception):
    """Raised inside the ASGI app to make the server drop the connection mid-response."""


@dataclass
class RequestRecord:
    """What the provider saw of one request. Times are seconds on the provider's clock."""

    id: int
    method: str
    path: str
    body: Any  # parsed JSON, or the raw text when it was not JSON
    stream: bool
    step: str  # the step kind that answered it
    started_at: float
    first_byte_at: float | None = None
    disconnected_at: float | None = None  # the client hung up before we finished
    finished_at: float | None = None  # we stopped handling it (completed, broke off or released)
    status: int | None = None
    chunks_sent: int = 0
    outcome: str = "in-progress"  # completed | disconnected | broken | released
    model: str | None = None  # the model name we answered with
    usage: dict[str, int] | None = None  # the usage we reported, None when omitted
    content: str | None = None  # the completion text we sent (whole, even if cut short)
    ttft: float = 0.0  # the delay drawn before the first byte (seeded)
    attempt: int = 1  # 1 + earlier requests with the same body (a retry resends it)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Script:
    queue: list[Step] = field(default_factory=list)
    default: Step | None = None
    left: dict[int, int | None] = field(default_factory=dict)  # queue index -> answers left

    def take(self, *, attempt: int, text: str, stream: bool) -> Step | None:
        """The first queued step that takes this request (used up after `times`)."""
        for i, step in enumerate(self.queue):
            left = self.left.get(i, step.times)
            if left == 0:
                continue
            if step.match is None or step.match.matches(attempt=attempt, text=text, stream=stream):
                if left is not None:
                    self.left[i] = left - 1
                return step
        return None


def _logical_call(body: Any) -> str:
    """What a retry of the same call has in common with it: the same body."""
    return json.dumps(body, sort_keys=True) if not isinstance(body, str) else body


def _message_text(body: Any) -> str:
    if not isinstance(body, dict):
        return str(body)
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    return "\n".join(
        m["content"] for m in messages if isinstance(m, dict) and isinstance(m.get("content"), str)
    )


class FakeProvider:
    """The ASGI app. Script it with `script(...)`, read `requests`, or switch `scenario`."""

    def __init__(
        self,
        *,
        seed: int = 0,
        scenario: str = "healthy",
        control: bool = False,
        control_token: str | None = None,
    ) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; expected one of {sorted(SCENARIOS)}")
        self.seed = seed
        self.scenario = scenario
        # The HTTP control API is off by default: in a grading run the candidate's app
        # shares the loopback network and must not be able to re-script its own faults.
        self.control = control
        self.control_token = control_token
        self._lock = threading.Lock()
        self._rng = random.Random(seed)  # noqa: S311  # seeded on purpose: faults must replay
        self._script = _Script()
        self._records: list[RequestRecord] = []
        self._attempts: Counter[str] = Counter()
        self._origin = time.monotonic()
        self._released = threading.Event()  # lets every `hold_after` step carry on

    # -- test-facing API (thread-safe: tests call it from another thread) --

    def now(self) -> float:
        return time.monotonic() - self._origin

    def script(self, *steps: Step, default: Step | None = None) -> None:
        """Answer requests with `steps`: a plain step takes the next request, a
        `.when(...)` step the next request that matches it; a request no step takes
        gets `default` (or the current scenario when `default` is None)."""
        with self._lock:
            self._script = _Script(list(steps), default)
            self._released.clear()

    def release(self) -> None:
        """Let every reply held by `hold_after` carry on (until the next script or reset)."""
        self._released.set()

    def reset(self, seed: int | None = None) -> None:
        """Forget the script and the request log; reseed."""
        with self._lock:
            if seed is not None:
                self.seed = seed
            self._rng = random.Random(self.seed)  # noqa: S311  # seeded on purpose
            self._script = _Script()
            self._records = []
            self._attempts = Counter()
            self._released.clear()

    def set_scenario(self, name: str) -> None:
        if name not in SCENARIOS:
            raise ValueError(f"unknown scenario {name!r}; expected one of {sorted(SCENARIOS)}")
        with self._lock:
            self.scenario = name
            self._script = _Script()

    @property
    def requests(self) -> list[RequestRecord]:
        """Snapshot of the completion requests seen so far, oldest first."""
        with self._lock:
            return [RequestRecord(**asdict(r)) for r in self._records]

    def wait_until(
        self, predicate: Callable[[list[RequestRecord]], bool], timeout: float = 10.0
    ) -> bool:
        """Poll the request log until `predicate(requests)` holds or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self.requests):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    # -- internals --

    def _next_step(self, body: Any, stream: bool) -> tuple[Step, float, random.Random, int]:
        with self._lock:
            key = _logical_call(body)
            self._attempts[key] += 1
            attempt = self._attempts[key]
            taken = self._script.take(attempt=attempt, text=_message_text(body), stream=stream)
            if taken is not None:
                step = taken
            elif self._script.default is not None:
                step = self._script.default
            else:
                step = SCENARIOS[self.scenario](self._rng)
            # One child RNG per request, drawn in arrival order, keeps a request's
            # delays independent of how other concurrent requests interleave.
            rng = random.Random(self._rng.getrandbits(64))  # noqa: S311  # seeded
        return step, step.ttft.sample(rng), rng, attempt

    def _new_record(
        self, method: str, path: str, body: Any, stream: bool, step: Step
    ) -> RequestRecord:
        with self._lock:
            rec = RequestRecord(
                id=len(self._records) + 1,
                method=method,
                path=path,
                body=body,
                stream=stream,
                step=step.kind,
                started_at=self.now(),
            )
            self._records.append(rec)
        return rec

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        raw = bytearray()
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            raw += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        if path.startswith("/_faultline/"):
            await self._control(scope, method, path, bytes(raw), send)
            return
        if path == "/v1/models" and method == "GET":
            await _json(
                send, 200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]}
            )
            return
        if path != "/v1/chat/completions" or method != "POST":
            await _json(send, 404, _error(f"no route {method} {path}", "invalid_request_error"))
            return
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        stream = isinstance(body, dict) and bool(body.get("stream"))
        step, ttft, rng, attempt = self._next_step(body, stream)
        rec = self._new_record(method, path, body, stream, step)
        rec.ttft, rec.attempt = ttft, attempt
        disconnected = asyncio.Event()

        async def watch() -> None:
            while True:
                msg = await receive()
                if msg["type"] == "http.disconnect":
                    if rec.finished_at is None:
                        rec.disconnected_at = self.now()
                    disconnected.set()
                    return

        watcher = asyncio.create_task(watch())
        try:
            await _Responder(self, rec, step, ttft, rng, body, send, disconnected).run()
        except _BreakConnection:
            rec.outcome = "broken"
            rec.finished_at = self.now()
            raise
        except OSError:
            # Writing to a client that already hung up.
            rec.outcome = "disconnected"
        finally:
            if rec.finished_at is None:
                rec.finished_at = self.now()
            if rec.outcome == "in-progress":
                rec.outcome = "completed"
            if (
                disconnected.is_set()
                and rec.outcome == "completed"
                and rec.disconnected_at is not None
            ):
                rec.outcome = "disconnected"
            watcher.cancel()

    async def _control(self, scope: Scope, method: str, path: str, raw: bytes, send: Send) -> None:
        if not self.control:
            await _json(send, 404, _error("control API disabled", "invalid_request_error"))
            return
        if self.control_token is not None:
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
            }
            if headers.get("x-faultline-token") != self.control_token:
                await _json(send, 403, {"error": "bad or missing X-Faultline-Token"})
                return
        try:
            data = json.loads(raw) if raw else {}
            if not isinstance(data, dict):
                raise ValueError("body must be a JSON object")
            if path == "/_faultline/health":
                await _json(send, 200, {"ok": True})
            elif path == "/_faultline/requests" and method == "GET":
                await _json(
                    send, 200, {"now": self.now(), "requests": [r.to_dict() for r in self.requests]}
                )
            elif path == "/_faultline/scenario" and method == "GET":
                await _json(send, 200, {"scenario": self.scenario, "scenarios": DESCRIPTIONS})
            elif path == "/_faultline/scenario" and method == "POST":
                self.set_scenario(str(data.get("name")))
                await _json(send, 200, {"scenario": self.scenario})
            elif path == "/_faultline/script" and method == "POST":
                steps = [Step.from_dict(s) for s in data.get("steps", [])]
                default = Step.from_dict(data["default"]) if data.get("default") else None
                self.script(*steps, default=default)
                await _json(send, 200, {"queued": len(steps)})
            elif path == "/_faultline/reset" and method == "POST":
                seed = data.get("seed")
                self.reset(int(seed) if seed is not None else None)
                await _json(send, 200, {"seed": self.seed})
            else:
                await _json(send, 404, {"error": f"no control route {method} {path}"})
        except (ValueError, TypeError, KeyError) as exc:
            await _json(send, 400, {"error": str(exc)})


class _Responder:
    def __init__(
        self,
        provider: FakeProvider,
        rec: RequestRecord,
        step: Step,
        ttft: float,
        rng: random.Random,
        body: Any,
        send: Send,
        disconnected: asyncio.Event,
    ) -> None:
        self.p, self.rec, self.step, self.ttft, self.rng = provider, rec, step, ttft, rng
        self.body, self._send, self.disconnected = body, send, disconnected

    async def sleep(self, seconds: float) -> bool:
        """Sleep unless the client hangs up first; True when it hung up."""
        if seconds <= 0:
            return self.disconnected.is_set()
        try:
            await asyncio.wait_for(self.disconnected.wait(), seconds)
            return True
        except TimeoutError:
            return False

    async def hold(self, beat: Callable[[], Awaitable[None]] | None = None) -> bool:
        """Wait until the test releases held replies; True when the client hung up first.
        A held stream stays alive with `beat` (an empty delta) every HOLD_BEAT_SECONDS,
        so an app's idle timeout never fires because a test held the answer."""
        deadline = time.monotonic() + HANG_CEILING_SECONDS
        next_beat = time.monotonic() + HOLD_BEAT_SECONDS
        while not self.p._released.is_set():
            if time.monotonic() >= deadline:
                self.rec.outcome = "released"
                return True
            if beat is not None and time.monotonic() >= next_beat:
                await beat()
                next_beat = time.monotonic() + HOLD_BEAT_SECONDS
            # A 50 ms poll: twenty held streams must not busy the provider's event loop.
            if await self.sleep(0.05):
                return True
        return False

    async def send(self, message: Message) -> None:
        if self.rec.first_byte_at is None:
            self.rec.first_byte_at = self.p.now()
        await self._send(message)

    async def start(self, status: int, headers: Iterable[tuple[str, str]]) -> None:
        self.rec.status = status
        await self.send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in headers],
            }
        )

    async def run(self) -> None:
        step = self.step
        if await self.sleep(self.ttft):
            return
        if step.kind == "hang":
            if not await self.sleep(HANG_CEILING_SECONDS):
                self.rec.outcome = "released"
            return
        if step.kind == "status":
            headers = [("content-type", "application/json")]
            if step.retry_after is not None:
                headers.append(("retry-after", _number(step.retry_after)))
            kind = "rate_limit_exceeded" if step.status == 429 else "server_error"
            await self._body(
                step.status,
                headers,
                json.dumps(_error(f"fake provider: {step.status}", kind)).encode(),
            )
            return
        if step.kind == "malformed":
            await self._body(
                200, [("content-type", "application/json")], b"{'id': chatcmpl-1, choices: [oops}"
            )
            return
        if step.kind == "garbage":
            await self._body(
                200, [("content-type", "application/json")], b'{"result": "ok", "data": null}'
            )
            return
        model, text, usage = self._completion()
        self.rec.model, self.rec.content = model, text
        if self.rec.stream:
            await self._stream(model, text, usage)
            return
        if step.kind == "truncated":
            whole = json.dumps(
                _completion_body(self.rec.id, model, text, usage, step.finish_reason)
            ).encode()
            await self._body(200, [("content-type", "application/json")], whole[: len(whole) // 2])
            return
        self.rec.usage = usage
        if step.hold_after is not None and await self.hold():
            return
        await self._body(
            200,
            [("content-type", "application/json")],
            json.dumps(
                _completion_body(self.rec.id, model, text, usage, step.finish_reason)
            ).encode(),
        )

    def _completion(self) -> tuple[str, str, dict[str, int] | None]:
        requested = self.body.get("model") if isinstance(self.body, dict) else None
        model = self.step.model or (
            requested if isinstance(requested, str) and requested else "fake-model"
        )
        text = self.step.content if self.step.content is not None else DEFAULT_ANSWER
        prompt_words = 0
        if isinstance(self.body, dict) and isinstance(self.body.get("messages"), list):
            for m in self.body["messages"]:
                if isinstance(m, dict) and isinstance(m.get("content"), str):
                    prompt_words += len(m["content"].split())
        completion = max(1, len(_chunks(text)))
        usage = None
        if self.step.usage:
            usage = {
                "prompt_tokens": prompt_words + 7,
                "completion_tokens": completion,
                "total_tokens": prompt_words + 7 + completion,
            }
        return model, text, usage

    async def _body(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        headers = [*headers, ("content-length", str(len(body)))]
        await self.start(status, headers)
        await self.send({"type": "http.response.body", "body": body, "more_body": False})

    async def _stream(self, model: str, text: str, usage: dict[str, int] | None) -> None:
        step, rec = self.step, self.rec
        await self.start(
            200, [("content-type", "text/event-stream"), ("cache-control", "no-cache")]
        )
        cid = f"chatcmpl-{rec.id}"
        pieces = _chunks(text)

        async def event(payload: dict[str, Any] | str) -> None:
            data = payload if isinstance(payload, str) else json.dumps(payload)
            await self.send(
                {
                    "type": "http.response.body",
                    "body": f"data: {data}\n\n".encode(),
                    "more_body": True,
                }
            )

        async def faults_due(i: int) -> None:
            """The in-stream fault events scripted to come after i content chunks."""
            if _due(step.malformed_after, i, len(pieces)):
                whole = json.dumps(_chunk(cid, model, {"content": " (garbled)"}, None))
                await event(whole[: len(whole) // 2])
            if _due(step.error_after, i, len(pieces)):
                await event(_error("fake provider: overloaded mid-stream", "server_error"))

        async def beat() -> None:
            await event(_chunk(cid, model, {"content": ""}, None))

        await event(_chunk(cid, model, {"role": "assistant", "content": ""}, None))
        # Text and finish_reason in one chunk (not for a stream cut off in its last chunk).
        joined = step.finish_with_last and step.kind != "truncated"
        finish = step.finish_reason
        for i, piece in enumerate(pieces):
            if step.stall_after is not None and i >= step.stall_after:
                if not await self.sleep(HANG_CEILING_SECONDS):
                    rec.outcome = "released"
                return
            if step.break_after is not None and i >= step.break_after:
                raise _BreakConnection
            if _due(step.hold_after, i, len(pieces)) and await self.hold(beat):
                return
            if i > 0 and await self.sleep(step.per_token.sample(self.rng)):
                return
            await faults_due(i)
            last = joined and i == len(pieces) - 1
            await event(_chunk(cid, model, {"content": piece}, finish if last else None))
            rec.chunks_sent += 1
        if _due(step.hold_after, len(pieces), len(pieces)) and await self.hold(beat):
            return
        await faults_due(len(pieces))
        if step.kind == "truncated":
            cut = json.dumps(_chunk(cid, model, {}, finish))
            await self.send(
                {
                    "type": "http.response.body",
                    "body": f"data: {cut[: len(cut) // 2]}".encode(),
                    "more_body": False,
                }
            )
            return
        if not joined:
            await event(_chunk(cid, model, {}, finish))
        opts = self.body.get("stream_options") if isinstance(self.body, dict) else None
        if usage is not None and isinstance(opts, dict) and opts.get("include_usage"):
            rec.usage = usage
            await event(
                {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
            )
        await event("[DONE]")
        await self.send({"type": "http.response.body", "body": b"", "more_body": False})


def _due(after: int | None, i: int, count: int) -> bool:
    """Whether an event scripted after `after` content chunks goes out before chunk i
    (i == count: after the last one); `after` beyond the text means after the last."""
    return after is not None and min(after, count) == i


def _chunks(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def _chunk(cid: str, model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _completion_body(
    rid: int, model: str, text: str, usage: dict[str, int] | None, finish: str = "stop"
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"chatcmpl-{rid}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


async def _json(send: Send, status: int, payload: Any) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


class RunningProvider:
    """A FakeProvider served by uvicorn on a background thread (for tests and the plugin)."""

    def __init__(self, provider: FakeProvider, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        self.provider = provider
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(provider, log_level="critical", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name="faultkit-provider",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        """What the app gets as LLM_BASE_URL."""
        return f"http://{self.host}:{self.port}/v1"

    def start(self, timeout: float = 10.0) -> RunningProvider:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake provider did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> RunningProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
