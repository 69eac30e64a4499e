"""Live mode: the fake provider beside a candidate's running app, for an interview.

    python3 -m faultkit.live --port 9100 --control /live/control.sock [--scenarios FILE]

Completions are served on 127.0.0.1:PORT, where the candidate's app calls them; the
control API is OFF there, because the app shares that loopback. The control API is
served only on the unix socket `--control`, in the live session's bridge directory,
which the app cannot see and the platform reaches from the host (sandbox/live.py):

  GET  /scenario             {"scenario", "switched_at", "scenarios": [{"name",
                              "description", "builtin"}]}
  POST /scenario {"name"}    switch at once: the next request meets the new scenario
  GET  /requests?after=SEQ   {"events": [...]}: request events after SEQ (see below)
  GET  /events?after=SEQ     the same as server-sent events, live, until the client leaves
  POST /reset {"seed"}       forget the request log; reseed

A request event is {"seq", "request": {...}} and is sent when a request arrives and
again when it ends: id, at (epoch seconds), path, stream, status, latency_ms,
first_byte_ms, outcome (in-progress | completed | disconnected | broken | released),
cancelled (the client hung up first), fault (the fault applied, in plain words),
scenario (the one in force when it arrived), chunks_sent.

`--scenarios` is a JSON list of an exercise's own scenarios, [{"name", "description",
"step": {...}}] (exercise.toml's [[scenarios]]): each answers every request with its
step (faults.Step).
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from .faults import Step
from .provider import FakeProvider, Receive, RequestRecord, Scope, Send, _json
from .scenarios import DESCRIPTIONS, SCENARIOS

KEEP_EVENTS = 1000
HEARTBEAT_SECONDS = 15.0
_current: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar(
    "faultkit_live_request", default=None
)


@dataclass(frozen=True)
class CustomScenario:
    name: str
    description: str
    step: Step


def describe_step(step: Step, ttft: float) -> str:
    """The fault a step applies, in the words the request log shows."""
    if step.kind == "status":
        retry = f", Retry-After {step.retry_after:g} s" if step.retry_after is not None else ""
        return f"HTTP {step.status}{retry}"
    simple = {
        "hang": "never answers",
        "malformed": "malformed JSON",
        "truncated": "JSON cut off midway",
        "garbage": "JSON of the wrong shape",
    }
    if step.kind in simple:
        return simple[step.kind]
    parts = [f"answers after {ttft:.1f} s" if ttft >= 1.0 else "answers"]
    pace = step.per_token
    word = pace.a if pace.kind != "uniform" else (pace.a + pace.b) / 2
    if word >= 0.05:
        parts.append(f"streams a word every {word:.1f} s")
    for field, words in (
        ("stall_after", "stream stalls after {} chunks"),
        ("break_after", "stream breaks off after {} chunks"),
        ("malformed_after", "a malformed chunk after {}"),
        ("error_after", "an in-stream error after {}"),
    ):
        value = getattr(step, field)
        if value is not None:
            parts.append(words.format(value))
    if not step.usage:
        parts.append("no token usage")
    return ", ".join(parts)


class LiveProvider(FakeProvider):
    """The fake provider of a live session: named scenarios switched at runtime, and a
    log of request events that followers read as it grows."""

    def __init__(self, *, seed: int = 0, custom: list[CustomScenario] | None = None) -> None:
        super().__init__(seed=seed, control=False)
        self.custom = {c.name: c for c in custom or []}
        clash = sorted(set(self.custom) & set(SCENARIOS))
        if clash:
            raise ValueError(f"scenario names taken by faultkit: {', '.join(clash)}")
        self.live_scenario = "healthy"
        self.switched_at = time.time()
        self._events: deque[dict[str, Any]] = deque(maxlen=KEEP_EVENTS)
        self._seq = 0
        # record id -> (the scenario in force when it arrived, the step that answers it)
        self._meta: dict[int, tuple[str, Step | None]] = {}
        self._waiters: set[asyncio.Event] = set()
        self._wall_origin = time.time() - self.now()

    # -- scenarios --------------------------------------------------------------

    def scenarios(self) -> list[dict[str, Any]]:
        listed = [{"name": n, "description": d, "builtin": True} for n, d in DESCRIPTIONS.items()]
        listed += [
            {"name": c.name, "description": c.description, "builtin": False}
            for c in self.custom.values()
        ]
        return listed

    def switch(self, name: str) -> None:
        if name in SCENARIOS:
            self.set_scenario(name)
        elif name in self.custom:
            self.set_scenario("healthy")
            self.script(default=self.custom[name].step)
        else:
            known = ", ".join(s["name"] for s in self.scenarios())
            raise ValueError(f"unknown scenario {name!r}; expected one of {known}")
        self.live_scenario = name
        self.switched_at = time.time()

    # -- the request log --------------------------------------------------------

    def _new_record(
        self, method: str, path: str, body: Any, stream: bool, step: Step
    ) -> RequestRecord:
        rec = super()._new_record(method, path, body, stream, step)
        self._meta[rec.id] = (self.live_scenario, step)
        _current.set(rec)
        # Announced once the running code has set the record's drawn delay (just after
        # this returns, before the request's first await).
        asyncio.get_running_loop().call_soon(self._publish, rec, True)
        return rec

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _current.set(None)
        try:
            await super().__call__(scope, receive, send)
        finally:
            rec = _current.get()
            if rec is not None:
                self._publish(rec)
            _current.reset(token)

    def _publish(self, rec: RequestRecord, arrival: bool = False) -> None:
        done = rec.finished_at is not None
        if arrival and done:
            return  # it was answered without ever waiting: its end says it all
        scenario, step = self._meta.get(rec.id, (self.live_scenario, None))
        summary = {
            "id": rec.id,
            "at": round(self._wall_origin + rec.started_at, 3),
            "method": rec.method,
            "path": rec.path,
            "stream": rec.stream,
            "status": rec.status,
            "latency_ms": (
                round((rec.finished_at - rec.started_at) * 1000)
                if rec.finished_at is not None
                else None
            ),
            "first_byte_ms": (
                round((rec.first_byte_at - rec.started_at) * 1000)
                if rec.first_byte_at is not None
                else None
            ),
            "outcome": rec.outcome if done else "in-progress",
            "cancelled": rec.disconnected_at is not None,
            "fault": describe_step(step, rec.ttft) if step is not None else rec.step,
            "scenario": scenario,
            "chunks_sent": rec.chunks_sent,
        }
        self._seq += 1
        self._events.append({"seq": self._seq, "request": summary})
        if done:
            self._meta.pop(rec.id, None)
        for waiter in self._waiters:
            waiter.set()

    def events_after(self, seq: int) -> list[dict[str, Any]]:
        return [e for e in self._events if e["seq"] > seq]

    def forget(self, seed: int | None) -> None:
        self.reset(seed)
        if self.live_scenario in self.custom:
            self.script(default=self.custom[self.live_scenario].step)
        self._events.clear()

    # -- the control API (unix socket only) -------------------------------------

    async def switchboard_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        raw = bytearray()
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            raw += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        try:
            data = json.loads(raw) if raw else {}
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
            after = int(query.get("after", ["0"])[0])
            if path == "/scenario" and method == "GET":
                await _json(send, 200, self._scenario_state())
            elif path == "/scenario" and method == "POST":
                self.switch(str(data.get("name")))
                await _json(send, 200, self._scenario_state())
            elif path == "/requests" and method == "GET":
                await _json(send, 200, {"events": self.events_after(after)})
            elif path == "/events" and method == "GET":
                await self._follow(after, receive, send)
            elif path == "/reset" and method == "POST":
                seed = data.get("seed")
                self.forget(int(seed) if seed is not None else None)
                await _json(send, 200, {"seed": self.seed})
            else:
                await _json(send, 404, {"error": f"no control route {method} {path}"})
        except (ValueError, TypeError) as exc:
            await _json(send, 400, {"error": str(exc)})

    def _scenario_state(self) -> dict[str, Any]:
        return {
            "scenario": self.live_scenario,
            "switched_at": self.switched_at,
            "scenarios": self.scenarios(),
        }

    async def _follow(self, after: int, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        wake = asyncio.Event()
        self._waiters.add(wake)
        gone = asyncio.ensure_future(_until_disconnect(receive))
        try:
            while not gone.done():
                for event in self.events_after(after):
                    after = event["seq"]
                    body = f"id: {after}\ndata: {json.dumps(event)}\n\n".encode()
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                wake.clear()
                if self.events_after(after):
                    continue
                waiting = asyncio.ensure_future(wake.wait())
                done, _ = await asyncio.wait(
                    {waiting, gone}, timeout=HEARTBEAT_SECONDS, return_when=asyncio.FIRST_COMPLETED
                )
                waiting.cancel()
                if not done:
                    beat = {"type": "http.response.body", "body": b": keep-alive\n\n"}
                    await send({**beat, "more_body": True})
        except OSError:
            return
        finally:
            self._waiters.discard(wake)
            gone.cancel()


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def load_custom(path: str | None) -> list[CustomScenario]:
    if not path:
        return []
    listed = json.loads(Path(path).read_text())
    return [
        CustomScenario(str(s["name"]), str(s["description"]), Step.from_dict(s["step"]))
        for s in listed
    ]


async def serve(provider: LiveProvider, port: int, control: str) -> None:
    import uvicorn

    completions = uvicorn.Server(
        uvicorn.Config(
            provider, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
            access_log=False,
        )
    )  # fmt: skip
    switchboard = uvicorn.Server(
        uvicorn.Config(
            provider.switchboard_app,
            uds=control,
            interface="asgi3",
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
    )
    await asyncio.gather(completions.serve(), switchboard.serve())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python3 -m faultkit.live", description=__doc__)
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--control", required=True, help="the control API's unix socket")
    parser.add_argument("--scenarios", help="a JSON file of the exercise's own scenarios")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    provider = LiveProvider(seed=args.seed, custom=load_custom(args.scenarios))
    print(f"fake provider (live) on 127.0.0.1:{args.port}, control on {args.control}", flush=True)
    asyncio.run(serve(provider, args.port, args.control))


if __name__ == "__main__":
    main()
