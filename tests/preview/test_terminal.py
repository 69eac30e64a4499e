"""The interview's terminal over the room's websockets (both backends): the candidate types
and sees the answer, the interviewer watches read-only until they switch typing on, the
files go both ways with the editor, every byte goes on the timeline up to its limit, and
hostile use (a flood, kill -9 -1, an ended interview) leaves the room working."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from preview import manager as live_manager
from preview import terminal as preview_terminal

from exercises import catalog
from exercises.runner import APP_PORT
from faultline.asgi import application
from interviews import services as interview_services
from interviews.models import Exercise, Interview, TimelineEvent, WorkspaceFile
from tests.preview.test_live_preview import wait_running
from tests.web.conftest import candidate_client, client_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WAIT = 60.0


def started(personas: dict[str, Any]) -> tuple[Interview, Client]:
    spec = catalog.find("cancellation")
    exercise, _ = Exercise.objects.get_or_create(
        slug="cancellation",
        defaults={"title": spec.title, "version_hash": spec.version_hash, "manifest": {}},
    )
    files = {path: data.decode() for path, data in spec.solution_files().items()}
    interview, token = interview_services.interview_create(
        exercise=exercise,
        candidate_name="Cara",
        candidate_email="cara@example.com",
        interviewers=[personas["interviewer"]],
        created_by=personas["interviewer"],
        starter_files=files,
    )
    candidate = candidate_client(token)
    interview = interview_services.interview_start(interview=interview, actor="ivy")
    return interview, candidate


class Socket:
    """A room or console socket that keeps the terminal's output it receives."""

    def __init__(self, path: str, client: Client) -> None:
        cookie = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
        headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
        self.comm = WebsocketCommunicator(application, path, headers=[*headers, (b"cookie",
                                          cookie.encode())])  # fmt: skip
        self.screen = ""
        self.end = 0
        self.seen: list[dict[str, Any]] = []
        self.seq = 0

    async def open(self) -> None:
        connected, _ = await self.comm.connect(timeout=10)
        assert connected
        await self.until(lambda m: m["type"] == "state")

    async def next(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await self.comm.receive_from(timeout=WAIT))
        self.seen.append(message)
        event = message.get("event") or {}
        if event.get("kind") == "terminal_output" and event["end"] > self.end:
            self.screen += event["data"]
            self.end = event["end"]
        return message

    async def until(self, predicate: Any) -> dict[str, Any]:
        while True:
            message = await self.next()
            if predicate(message):
                return message

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        seq = self.seq
        await self.comm.send_to(text_data=json.dumps({**message, "seq": seq}))
        reply = await self.until(lambda m: m.get("seq") == seq)
        if reply["type"] == "term_state":
            self.screen, self.end = reply["history"], reply["end"]
        return reply

    async def type(self, text: str) -> None:
        await self.comm.send_to(text_data=json.dumps({"type": "term_in", "data": text}))

    async def shows(self, text: str, after: int = 0) -> int:
        """Wait until the screen shows `text` past character `after`; where it ends."""
        while text not in self.screen[after:]:
            try:
                await self.next()
            except TimeoutError:
                shown = self.screen[-1500:]
                raise AssertionError(f"{text!r} never shown; the screen: {shown!r}") from None
        return self.screen.index(text, after) + len(text)

    async def event(self, kind: str) -> dict[str, Any]:
        message = await self.until(lambda m: (m.get("event") or {}).get("kind") == kind)
        return dict(message["event"])


def frames(interview: Interview) -> list[list[Any]]:
    found: list[list[Any]] = []
    for event in TimelineEvent.objects.filter(interview=interview, kind="terminal"):
        found += event.data["frames"]
    return found


def test_the_candidate_types_the_interviewer_watches_and_the_timeline_keeps_it(
    live: live_manager.LiveManager, personas: dict[str, Any]
) -> None:
    interview, candidate = started(personas)
    ivy = client_for(personas["interviewer"])
    wait_running(live, interview)  # the app answers the shell's request below

    async def scenario() -> None:
        room = Socket("/ws/room/", candidate)
        console = Socket(f"/ws/console/{interview.pk}/", ivy)
        await room.open()
        await console.open()
        state = await room.request({"type": "term_open"})
        assert state["type"] == "term_state" and state["running"] and state["may_type"]
        watching = await console.request({"type": "term_open"})
        assert watching["running"] and not watching["may_type"]

        await room.type('python3 -c "print(6*7)"\r')
        await room.shows("42\r\n")
        await console.shows("42\r\n")
        url = f"http://localhost:{APP_PORT}/healthz"
        fetch = f"python3 -c \"import urllib.request as u; print(u.urlopen('{url}').status,'h')\"\r"
        await room.type(fetch)
        await console.shows("200 h\r\n")

        # Read-only until the interviewer switches typing on; the room is told.
        refused = await console.request({"type": "term_in", "data": "echo no\r"})
        assert refused["type"] == "error" and "read-only" in refused["message"]
        assert (await console.request({"type": "term_allow", "on": True}))["type"] == "ok"
        told = await room.event("terminal_typing")
        assert told["on"] and told["actor"] == "ivy"
        await console.type("echo from''-the-pm\r")
        await room.shows("from-the-pm\r\n")

        # A late joiner (or a reconnect) gets the history, then only what is newer.
        again = Socket("/ws/room/", candidate)
        await again.open()
        reattached = await again.request({"type": "term_open"})
        assert "42" in reattached["history"] and reattached["end"] == room.end
        await room.comm.disconnect()
        await console.comm.disconnect()
        await again.comm.disconnect()

    async_to_sync(scenario)()
    hub = preview_terminal.existing(interview.pk)
    assert hub is not None
    hub._flush()
    recorded = frames(interview)
    typed = "".join(f[2] for f in recorded if f[1] == "i")
    shown = "".join(f[2] for f in recorded if f[1] == "o")
    assert 'python3 -c "print(6*7)"' in typed and "42\r\n" in shown
    assert any(f[1] == "j" and f[3] == "ivy" and "from''-the-pm" in f[2] for f in recorded)
    assert any(f[1] == "t" and f[2] == "on" for f in recorded)


def test_files_go_both_ways_between_the_editor_and_the_shell(
    live: live_manager.LiveManager, personas: dict[str, Any]
) -> None:
    interview, candidate = started(personas)
    main = WorkspaceFile.objects.get(interview=interview, path="app/main.py")

    async def scenario() -> None:
        room = Socket("/ws/room/", candidate)
        await room.open()
        await room.request({"type": "term_open"})
        content = main.content + "\n# edited-in-the-editor\n"
        saved = await room.request(
            {"type": "edit", "path": "app/main.py", "base_version": main.version,
             "content": content}
        )  # fmt: skip
        assert saved["type"] == "saved"
        # The shell sees the save within a sync round: grep until it prints the line.
        mark = len(room.screen)
        await room.type("until grep -q edited-in app/main.py; do sleep 0.1; done; echo s''ynced\r")
        await room.shows("synced\r\n", mark)
        await room.type("echo 'print(1)' > app/from_shell.py\r")
        created = await room.until(
            lambda m: (
                (m.get("event") or {}).get("kind") == "file"
                and m["event"]["path"] == "app/from_shell.py"
            )
        )
        assert created["event"]["content"] == "print(1)\n"
        await room.comm.disconnect()

    async_to_sync(scenario)()
    made = WorkspaceFile.objects.get(interview=interview, path="app/from_shell.py")
    assert made.content == "print(1)\n"


def test_a_flood_kill_minus_one_and_the_end_of_the_interview_leave_the_room_working(
    live: live_manager.LiveManager, personas: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preview_terminal, "RECORD_LIMIT", 20_000)
    interview, candidate = started(personas)

    async def scenario() -> None:
        room = Socket("/ws/room/", candidate)
        await room.open()
        await room.request({"type": "term_open"})
        too_big = await room.request({"type": "term_in", "data": "x" * 5000})
        assert too_big["type"] == "error"
        await room.type("yes flood\r")
        await room.shows("flood\r\nflood\r\nflood")
        while room.end < 200_000:  # well past the recording's limit, and still flooding
            await room.next()
        # The room still answers in the middle of the flood, and Ctrl-C stops it.
        assert (await room.request({"type": "ping"}))["type"] == "pong"
        await room.type("\x03")
        mark = len(room.screen)
        await room.type("echo after''-flood\r")
        await room.shows("after-flood\r\n", mark)

        await room.type("kill -9 -1\r")
        gone = await room.event("terminal_exit")
        assert "Press a key to start a new one" in gone["message"]
        assert (await room.request({"type": "term_open"}))["running"]
        mark = len(room.screen)
        await room.type("echo new''-shell\r")
        await room.shows("new-shell\r\n", mark)

        # What the manager's housekeeping does once the interview is no longer live.
        await sync_to_async(live.stop)(interview.pk, "the interview is no longer live")
        closed = await room.event("terminal_exit")
        assert "live sandbox has stopped" in closed["message"]
        await room.comm.disconnect()

    async_to_sync(scenario)()
    recorded = TimelineEvent.objects.filter(interview=interview, kind="terminal")
    assert [e.data["cut"] for e in recorded if "cut" in e.data] == [
        preview_terminal.CUT_MESSAGE.format(limit=20_000)
    ]
    assert sum(len(f[2]) for f in frames(interview)) == 20_000
    assert live.running() == []
