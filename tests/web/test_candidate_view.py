"""The candidate never learns how the hidden suite went, from anything the room sends them.

A passing and a failing submission are graded for real (bubblewrap sandbox); every
message the candidate's sockets receive, and the room page, must be the same for
both once ids, times and the candidate's own code are set aside. Otherwise repeated
submits would make the room an oracle of the hidden tests.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from exercises import catalog
from faultline.asgi import application
from grading import queue
from interviews import services as interview_services
from interviews.models import Exercise, Interview
from tests.grading.conftest import as_text
from tests.requirements import require_bwrap
from tests.web.conftest import candidate_client, client_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Values that differ between any two interviews whatever the grading did.
VOLATILE = {
    "id",
    "at",
    "run",
    "seq",
    "now",
    "received_at",
    "started_at",
    "deadline",
    "snapshot",
    "created_at",
}


def cookie_of(client: Client) -> str:
    return "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())


async def open_socket(path: str, client: Client) -> WebsocketCommunicator:
    headers = [
        (b"origin", b"http://testserver"),
        (b"host", b"testserver"),
        (b"cookie", cookie_of(client).encode()),
    ]
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await comm.connect(timeout=5)
    assert connected
    return comm


async def read_until(comm: WebsocketCommunicator, predicate: Any, into: list) -> dict:
    while True:
        message = json.loads(await comm.receive_from(timeout=180))
        into.append(message)
        if predicate(message):
            return message


def normalised(value: Any) -> Any:
    """The message with what differs between interviews anyway taken out."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in VOLATILE:
                out[key] = "*" if item is not None else None
            elif key in {"files", "file", "content", "version", "candidate_name"}:
                out[key] = "<the candidate's own>"
            else:
                out[key] = normalised(item)
        return out
    if isinstance(value, list):
        return [normalised(v) for v in value]
    return value


def interview_with(files: dict[str, str], interviewer: Any) -> tuple[Interview, str]:
    exercise = Exercise.objects.get(slug="add-metadata")
    interview, token = interview_services.interview_create(
        exercise=exercise,
        candidate_name="Cara",
        candidate_email="cara@example.com",
        interviewers=[interviewer],
        created_by=interviewer,
        starter_files=files,
    )
    interview_services.interview_start(interview=interview, actor="ivy")
    return interview, token


def submit_and_watch(interview: Interview, token: str, interviewer: Any) -> dict[str, Any]:
    """Submit from the room; collect what the candidate and the staff receive until graded."""
    candidate = candidate_client(token)
    staff_client = client_for(interviewer)

    async def scenario() -> dict[str, Any]:
        to_candidate: list[dict] = []
        to_staff: list[dict] = []
        staff = await open_socket(f"/ws/console/{interview.pk}/", staff_client)
        await read_until(staff, lambda m: m["type"] == "state", to_staff)
        room = await open_socket("/ws/room/", candidate)
        other_tab = await open_socket("/ws/room/", candidate)
        await read_until(room, lambda m: m["type"] == "state", to_candidate)
        await read_until(other_tab, lambda m: m["type"] == "state", to_candidate)
        await room.send_json_to({"type": "submit", "seq": 1})
        await read_until(room, lambda m: m.get("seq") == 1, to_candidate)
        # The staff see the whole grading, to its scorecard...
        await read_until(
            staff, lambda m: m["type"] == "event" and m["event"]["kind"] == "scorecard", to_staff
        )
        # ...and by then everything the candidate's tabs were sent is in their queues.
        for seq, tab in [(2, room), (3, other_tab)]:
            await tab.send_json_to({"type": "ping", "seq": seq})
            await read_until(tab, lambda m, s=seq: m.get("seq") == s, to_candidate)
            while not await tab.receive_nothing(timeout=0.3):
                to_candidate.append(json.loads(await tab.receive_from()))
        # A tab opened after grading gets the state a reload gets.
        late = await open_socket("/ws/room/", candidate)
        await read_until(late, lambda m: m["type"] == "state", to_candidate)
        for comm in (staff, room, other_tab, late):
            await comm.disconnect()
        return {"candidate": to_candidate, "staff": to_staff}

    out = async_to_sync(scenario)()
    queue.wait_idle()
    page = candidate.get("/room/").content.decode()
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "csrf", page)
    out["page"] = re.sub(r'"interview": \d+', '"interview": *', page)
    return out


def hidden_states(messages: list[dict]) -> set[str]:
    states = set()
    for m in messages:
        if m["type"] == "event" and m["event"]["kind"] == "run":
            if m["event"]["run"]["kind"] == "hidden":
                states.add(m["event"]["run"]["state"])
    return states


def test_no_message_to_the_candidate_carries_the_hidden_outcome(personas: dict[str, Any]) -> None:
    require_bwrap()
    from interviews.exercises import exercises_sync

    exercises_sync(root=Path(settings.EXERCISES_DIR))
    folder = catalog.find("add-metadata", Path(settings.EXERCISES_DIR))
    interviewer = personas["interviewer"]
    passing = submit_and_watch(
        *interview_with(as_text(folder.solution_files()), interviewer), interviewer
    )
    failing = submit_and_watch(
        *interview_with(as_text(folder.starter_files()), interviewer), interviewer
    )

    # The outcomes really differed, and the staff saw them.
    assert "passed" in hidden_states(passing["staff"])
    assert "failed" in hidden_states(failing["staff"])
    # The candidate got the same messages for both: nothing tells them apart.
    assert normalised(passing["candidate"]) == normalised(failing["candidate"])
    assert passing["page"] == failing["page"]
    for message in passing["candidate"] + failing["candidate"]:
        text = json.dumps(normalised(message))
        for leak in ['"passed"', '"failed"', '"scorecard"', '"overall"', '"summary"']:
            assert leak not in text, (leak, message)
    replies = [m for m in passing["candidate"] if m["type"] == "submitted"]
    assert len(replies) == 1 and set(replies[0]["run"]) == {"id", "kind", "received_at"}
    # The other tab heard of the submission too (from the timeline), as "received".
    heard = [m for m in passing["candidate"] if m.get("event", {}).get("kind") == "submitted"]
    assert len(heard) == 2
