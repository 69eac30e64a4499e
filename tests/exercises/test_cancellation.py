"""The cancellation hidden suite's own instruments, checked on the host in seconds:
its browser-tab client really hangs up when closed, and the page's event handling
(`python -m exercises check cancellation` proves the suite end to end in a sandbox)."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from exercises.faultkit import RunningProvider

EXERCISE = Path(__file__).resolve().parents[2] / "exercises" / "cancellation"


@pytest.fixture(scope="module")
def answer_stream() -> ModuleType:
    # The hidden suite imports the kit as the top-level package `faultkit`, as in a sandbox.
    sys.modules.setdefault("faultkit", importlib.import_module("exercises.faultkit"))
    spec = importlib.util.spec_from_file_location(
        "cancellation_answer_stream", EXERCISE / "tests" / "hidden" / "answer_stream.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TabServer:
    """An ASGI app that streams `created` then waits, recording when the client hangs up."""

    def __init__(self) -> None:
        self.disconnected = False
        self.sent_created = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        body = b'event: created\ndata: {"id": "a1"}\n\n'
        await send({"type": "http.response.body", "body": body, "more_body": True})
        self.sent_created = True
        while (await receive())["type"] != "http.disconnect":
            await asyncio.sleep(0)
        self.disconnected = True


def test_closing_a_tab_hangs_up_the_connection(answer_stream: ModuleType) -> None:
    server = TabServer()
    # RunningProvider serves any ASGI app on a free loopback port.
    with RunningProvider(server) as running:  # type: ignore[arg-type]
        url = f"http://{running.host}:{running.port}"
        stream = answer_stream.AnswerStream(url, {"question": "q", "paper_ids": ["p1"]})
        assert stream.until("created") == {"id": "a1"}
        assert stream.id == "a1"
        assert not server.disconnected
        stream.close()
        answer_stream.wait_for(lambda: server.disconnected, bool, timeout=5)
        assert server.disconnected, "closing the stream did not close the connection"


def run_js(script: Path, code: str) -> Any:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    program = f"const m = require({json.dumps(str(script))});\n{code}"
    out = subprocess.run([node, "-e", program], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("variant", ["starter", "solution"])
def test_page_reassembles_events_split_across_reads(variant: str) -> None:
    script = EXERCISE / variant / "static" / "app.js"
    events = run_js(
        script,
        """
        const text = 'event: created\\ndata: {"id":"a1"}\\n\\n' +
          'event: token\\ndata: {"text":"Hi"}\\n\\n';
        let rest = "", names = [];
        for (const ch of text) {
          const parsed = m.parseEvents(rest + ch);
          rest = parsed.rest;
          names = names.concat(parsed.events.map((e) => e.event));
        }
        console.log(JSON.stringify(names));
        """,
    )
    assert events == ["created", "token"]


def test_solution_page_shows_a_stopped_answer_as_cancelled() -> None:
    state = run_js(
        EXERCISE / "solution" / "static" / "app.js",
        """
        let s = {id: null, status: "running", notes: [], text: "", sources: [], error: null};
        const events = [
          {event: "created", data: {id: "a1"}},
          {event: "token", data: {text: "Half"}},
          {event: "cancelled", data: {id: "a1"}},
        ];
        for (const e of events) s = m.applyEvent(s, e);
        console.log(JSON.stringify({status: s.status, text: s.text, html: m.renderAnswer(s)}));
        """,
    )
    assert state["status"] == "cancelled" and state["text"] == "Half"
    assert "cancelled" in state["html"]
