"""The sync-to-streaming hidden suite's own instruments: its event-stream reader follows the
SSE rules browsers use, and its node DOM harness sees progressive rendering and injected
markup. (`python -m exercises check sync-to-streaming` proves the suite end to end in a
sandbox; these catch a broken instrument in a second, on the host.)"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

from exercises import catalog

EXERCISE = Path(__file__).resolve().parents[2] / "exercises" / "sync-to-streaming"


@pytest.fixture(scope="module")
def hidden() -> ModuleType:
    # The hidden suite imports the kit as the top-level package `faultkit`, as in a sandbox.
    sys.modules.setdefault("faultkit", importlib.import_module("exercises.faultkit"))
    spec = importlib.util.spec_from_file_location(
        "sync_to_streaming_hidden_conftest", EXERCISE / "tests" / "hidden" / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


def read_all(hidden: ModuleType, pieces: list[bytes]) -> list[tuple[str, str]]:
    reader = hidden._SSEReader()
    return [event for piece in pieces for event in reader.feed(piece)]


class _DoneThenMaybeOpen(BaseHTTPRequestHandler):
    """POST /api/answer/stream: one done event, then the end of the body, or (with
    `keep_open`) nothing until the test releases it."""

    protocol_version = "HTTP/1.1"
    keep_open = False
    release = threading.Event()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        event = b"event: done\ndata: {}\n\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        self.wfile.flush()
        if self.keep_open:
            self.release.wait(30)
        try:
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the client hung up

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def sse_app() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DoneThenMaybeOpen)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        _DoneThenMaybeOpen.release.set()
        server.shutdown()
        server.server_close()
        _DoneThenMaybeOpen.keep_open = False
        _DoneThenMaybeOpen.release.clear()


@pytest.mark.parametrize("keep_open", [False, True], ids=["closes", "stays-open"])
def test_a_stream_left_open_after_its_last_event_is_hung_up_on(
    hidden: ModuleType, sse_app: str, monkeypatch: pytest.MonkeyPatch, keep_open: bool
) -> None:
    monkeypatch.setattr(hidden, "CLOSE_GRACE_SECONDS", 0.2)
    _DoneThenMaybeOpen.keep_open = keep_open
    # A read timeout far beyond the grace: only the hang-up can end the open stream early.
    result = hidden.stream_answer(sse_app, read_timeout=60)
    assert result.names == ["done"]
    if keep_open:
        assert not result.closed and "still open" in result.failure, result.failure
    else:
        assert result.closed and result.failure == "", result.failure


def test_reader_follows_the_sse_rules(hidden: ModuleType) -> None:
    stream = (
        b": keep-alive\r\n\r\n"
        b'event: token\r\ndata: {"text": "a"}\r\n\r\n'
        b"data: line one\ndata: line two\n\n"
        b"event: lonely\n\n"
        b"event: done\rdata:{}\r\r"
    )
    # Byte by byte: every split point, including between \r and \n, must give the same events.
    expected = [
        ("token", '{"text": "a"}'),
        ("message", "line one\nline two"),
        ("done", "{}"),
    ]
    assert read_all(hidden, [stream]) == expected
    assert read_all(hidden, [stream[i : i + 1] for i in range(len(stream))]) == expected


def test_reader_never_ends_an_event_without_a_blank_line(hidden: ModuleType) -> None:
    # The wrong-framing mutant's output: one newline per event.
    assert read_all(hidden, [b'event: token\ndata: {"text": "a"}\nevent: done\ndata: {}\n']) == []


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_harness_sees_progress_and_injection(hidden: ModuleType, tmp_path: Path) -> None:
    pieces = [
        hidden.sse("token", {"text": "Hello"}),
        hidden.sse("token", {"text": ' <img src=x onerror="alert(1)">'}),
        hidden.sse("done", {"sources": [], "metadata": None}),
    ]
    solution = hidden.render_stream(EXERCISE / "solution", pieces)
    assert solution.snapshots[0].text.startswith("Hello")
    assert "img" not in solution.final.tags and not solution.final.error_shown
    assert solution.outcome == "fulfilled"

    for rel, data in catalog.load(EXERCISE).mutant_files("frontend-inner-html").items():
        (tmp_path / "mutant" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "mutant" / rel).write_bytes(data)
    mutant = hidden.render_stream(tmp_path / "mutant", pieces)
    assert "img" in mutant.final.tags

    cut = hidden.render_stream(EXERCISE / "solution", pieces[:1], cut=True)
    assert cut.final.error_shown and "Hello" in cut.final.text
