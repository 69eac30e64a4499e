"""Helpers for the hidden suite: an SSE client that notes when each event arrived (and how
far the provider had got by then), and a node harness that feeds a fetch Response to the
candidate's renderStream()."""

from __future__ import annotations

import base64
import codecs
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
from faultkit import FakeProvider
from faultkit.pytest_plugin import run_candidate_script

QUESTION = {"question": "Does retrieval reduce hallucination?"}
STREAM_PATH = "/api/answer/stream"
# After its last event (done or error) the app closes the stream. The client hangs up on a
# stream still open this long after it, so an app that never closes costs seconds, not the run.
CLOSE_GRACE_SECONDS = 3.0
FINAL_EVENTS = {"done", "error"}
HARNESS = Path(__file__).parent / "stream_harness.js"


@dataclass
class Event:
    name: str
    raw: str
    data: Any  # the parsed JSON, or None when `raw` is not JSON
    at: float  # time.monotonic() when the client had it
    provider_chunks: int | None = None  # content chunks the provider had sent by then
    provider_finished: bool | None = None  # whether the provider had finished by then


@dataclass
class StreamResult:
    status: int
    content_type: str
    events: list[Event] = field(default_factory=list)
    body: str = ""  # the body of a non-200 answer
    closed: bool = False  # the app ended the response
    failure: str = ""  # what went wrong on the wire (timeout, broken connection)
    started: float = 0.0
    ended: float = 0.0

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.events]

    @property
    def tokens(self) -> list[Event]:
        return [e for e in self.events if e.name == "token"]

    @property
    def text(self) -> str:
        return "".join(
            e.data["text"]
            for e in self.tokens
            if isinstance(e.data, dict) and isinstance(e.data.get("text"), str)
        )

    def describe(self) -> str:
        shown = ", ".join(f"{e.name}:{e.raw[:80]}" for e in self.events[:12])
        more = f" (+{len(self.events) - 12} more)" if len(self.events) > 12 else ""
        state = "closed" if self.closed else f"not closed ({self.failure})"
        return f"HTTP {self.status} {self.content_type!r}, {state}, events [{shown}]{more}"


class _SSEReader:
    """The event-stream parsing rules browsers use (WHATWG HTML, server-sent events)."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._buffer = ""
        self._name = ""
        self._data: list[str] = []
        self._skip_lf = False

    def feed(self, chunk: bytes) -> Iterator[tuple[str, str]]:
        self._buffer += self._decoder.decode(chunk)
        while True:
            if self._skip_lf and self._buffer:
                # \r\n is one line ending, even when a chunk ends between the two.
                self._skip_lf = False
                if self._buffer[0] == "\n":
                    self._buffer = self._buffer[1:]
                    continue
            ends = [i for i in (self._buffer.find("\n"), self._buffer.find("\r")) if i >= 0]
            if not ends:
                return
            cut = min(ends)
            line, ending = self._buffer[:cut], self._buffer[cut]
            self._buffer = self._buffer[cut + 1 :]
            self._skip_lf = ending == "\r"
            event = self._line(line)
            if event is not None:
                yield event

    def _line(self, line: str) -> tuple[str, str] | None:
        if line == "":
            if not self._data:
                self._name = ""
                return None
            event = (self._name or "message", "\n".join(self._data))
            self._name, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._name = value
        elif name == "data":
            self._data.append(value)
        return None


def _parse(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _hang_up_later(
    response: httpx.Response, seconds: float, hung_up: threading.Event
) -> threading.Timer | None:
    """Shut the response's socket after `seconds` (cancel the timer to keep it)."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if not isinstance(sock, socket.socket):
        return None

    def hang_up() -> None:
        hung_up.set()
        try:
            sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked read; the read then fails
        except OSError:
            pass

    timer = threading.Timer(seconds, hang_up)
    timer.daemon = True
    timer.start()
    return timer


def stream_answer(
    app_url: str,
    body: dict[str, Any] | None = None,
    *,
    provider: FakeProvider | None = None,
    read_timeout: float = 8.0,
    on_event: Callable[[Event], bool] | None = None,
) -> StreamResult:
    """POST to the streaming endpoint and read events until the app closes the response.

    With `provider`, each event notes how far the provider's latest request had got.
    `on_event` may return False to stop reading early. A read that waits longer than
    `read_timeout` for the next bytes ends the read with failure="timeout"; a stream still
    open CLOSE_GRACE_SECONDS after its done or error event is hung up on (not closed)."""
    timeout = httpx.Timeout(read_timeout, connect=5.0)
    result = StreamResult(status=0, content_type="", started=time.monotonic())
    watchdog: threading.Timer | None = None
    hung_up = threading.Event()
    with httpx.Client(timeout=timeout) as client:
        try:
            with client.stream("POST", app_url + STREAM_PATH, json=body or QUESTION) as response:
                result.status = response.status_code
                result.content_type = response.headers.get("content-type", "")
                if response.status_code != 200:
                    result.body = response.read().decode("utf-8", "replace")
                    result.closed = True
                    return result
                reader = _SSEReader()
                for chunk in response.iter_raw():
                    for name, raw in reader.feed(chunk):
                        event = Event(name, raw, _parse(raw), time.monotonic())
                        if provider is not None and provider.requests:
                            latest = provider.requests[-1]
                            event.provider_chunks = latest.chunks_sent
                            event.provider_finished = latest.finished_at is not None
                        result.events.append(event)
                        if name in FINAL_EVENTS and watchdog is None:
                            watchdog = _hang_up_later(response, CLOSE_GRACE_SECONDS, hung_up)
                        if on_event is not None and on_event(event) is False:
                            result.failure = "stopped reading"
                            return result
                result.closed = True
        except httpx.TimeoutException:
            result.failure = f"no bytes from the app for {read_timeout:.0f} s"
        except httpx.HTTPError as exc:
            if hung_up.is_set():
                result.failure = (
                    f"still open {CLOSE_GRACE_SECONDS:.0f} s after its {result.names[-1]} event"
                )
            else:
                result.failure = f"{type(exc).__name__}: {exc}"
        finally:
            if watchdog is not None:
                watchdog.cancel()
            result.ended = time.monotonic()
    return result


def assert_error_event(result: StreamResult, *, allow_http_error: bool = False) -> Any:
    """The stream ends with one `error` event (after any tokens) and the app closes it.

    With `allow_http_error`, a 502/503/504/429 JSON answer also counts: the provider
    failed before the stream could start."""
    if allow_http_error and result.status in {429, 502, 503, 504}:
        assert "Traceback" not in result.body, result.body[:500]
        assert _parse(result.body) is not None, f"the error answer is not JSON: {result.body[:300]}"
        return _parse(result.body)
    assert result.status == 200, f"expected the event stream, got {result.describe()}"
    assert result.closed, f"the app left the stream open: {result.describe()}"
    assert result.events and result.events[-1].name == "error", (
        f"the stream should end with an error event: {result.describe()}"
    )
    assert "done" not in result.names, f"a failed answer was reported as done: {result.describe()}"
    assert set(result.names) <= {"token", "error"}, result.describe()
    assert result.names.count("error") == 1, result.describe()
    data = result.events[-1].data
    assert isinstance(data, dict) and isinstance(data.get("error"), str) and data["error"], (
        f"the error event should say what went wrong: {result.events[-1].raw[:300]}"
    )
    assert "Traceback" not in data["error"], data["error"][:500]
    return data


# -- frontend --


def sse(name: str, payload: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


@dataclass
class Snapshot:
    text: str  # what a reader sees in the target element
    html: str  # the target's markup
    tags: list[str]  # every element tag inside the target
    error_shown: bool  # an element with class "error" is inside the target


@dataclass
class Rendered:
    snapshots: list[Snapshot]  # after each piece, once renderStream asked for more
    final: Snapshot
    outcome: str  # "fulfilled" | "rejected: ..." | "pending"
    value: Any


def _snapshot(data: dict[str, Any]) -> Snapshot:
    return Snapshot(data["text"], data["html"], data["tags"], data["errorShown"])


def render_stream(
    candidate_dir: Path,
    pieces: Sequence[bytes],
    *,
    status: int = 200,
    cut: bool = False,
    markup_only: bool = False,
) -> Rendered:
    """Run renderStream(response, target) from the candidate's static/app.js in node.

    `pieces` arrive one by one, each only when the reader asks for more; `cut` ends the
    body with a network error instead of a clean end. With `markup_only` (critical tests,
    which judge only what markup the page made), a page that cannot run is a skip: it is
    other tests' failure, not an injection."""

    def stop(reason: str) -> NoReturn:
        if markup_only:
            pytest.skip(f"nothing rendered to judge: {reason}")
        pytest.fail(reason, pytrace=False)

    script = candidate_dir / "static" / "app.js"
    if not script.exists():
        stop("static/app.js is missing")
    payload = {
        "pieces": [base64.b64encode(p).decode() for p in pieces],
        "status": status,
        "cut": cut,
    }
    try:
        proc = run_candidate_script(
            HARNESS, script, candidate=candidate_dir, input=json.dumps(payload).encode()
        )
    except pytest.fail.Exception as exc:  # it did not finish, or could not be confined
        stop(str(exc))
    if proc.returncode != 0:
        stop(f"node failed: {proc.stderr.decode(errors='replace')[-1500:]}")
    out = json.loads(proc.stdout)
    if out.get("load_error"):
        stop(f"app.js does not load: {out['load_error'][:1500]}")
    if out.get("missing"):
        stop(out["missing"])
    return Rendered(
        [_snapshot(s) for s in out["snapshots"]],
        _snapshot(out["final"]),
        out["outcome"],
        out.get("value"),
    )
