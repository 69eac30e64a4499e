"""The room's websockets: who may connect, which message each role may send, what each receives."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from faultline.asgi import application
from grading.models import Snapshot, TestRun
from interviews import services as interview_services
from interviews.models import Interview, TimelineEvent, WorkspaceFile
from tests.web.conftest import candidate_client, client_for
from web.consumers import MAX_VIOLATIONS

pytestmark = pytest.mark.django_db(transaction=True)

CANDIDATE_TYPES = [
    "ping",
    "sync",
    "edit",
    "create_file",
    "delete_file",
    "presence",
    "chat",
    "run",
    "submit",
    "term_open",
    "term_in",
    "term_resize",
]
STAFF_TYPES = [
    "ping", "sync", "chat", "note", "reveal_task", "start", "end", "rate", "regrade",
    "term_open", "term_in", "term_allow",
]  # fmt: skip
ALL_TYPES = sorted(set(CANDIDATE_TYPES) | set(STAFF_TYPES))


def cookie_of(client: Client) -> str:
    return "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    return async_to_sync(scenario)()


async def connect(
    path: str, client: Client | None, origin: bytes = b"http://testserver"
) -> tuple[WebsocketCommunicator, bool]:
    headers = [(b"origin", origin), (b"host", b"testserver")]
    if client is not None and client.cookies:
        headers.append((b"cookie", cookie_of(client).encode()))
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await comm.connect(timeout=5)
    return comm, connected


def assert_refused(path: str, client: Client | None) -> None:
    """The socket at `path` does not open for `client`."""

    async def scenario() -> None:
        comm, connected = await connect(path, client)
        assert not connected
        await comm.disconnect()

    run(scenario)


async def until(
    comm: WebsocketCommunicator, predicate: Callable[[dict], bool]
) -> tuple[dict, list]:
    """Read messages until one matches; returns it and everything read on the way."""
    seen = []
    while True:
        message = json.loads(await comm.receive_from(timeout=5))
        seen.append(message)
        if predicate(message):
            return message, seen


async def request(comm: WebsocketCommunicator, message: dict, seq: int) -> tuple[dict, list]:
    await comm.send_to(text_data=json.dumps({**message, "seq": seq}))
    return await until(comm, lambda m: m.get("seq") == seq)


def sample(kind: str, interview: Interview) -> dict:
    """A well-formed message of each type."""
    return {
        "ping": {"type": "ping"},
        "sync": {"type": "sync"},
        "edit": {"type": "edit", "path": "app/main.py", "base_version": 1, "content": "x = 1\n"},
        "create_file": {"type": "create_file", "path": "app/new.py"},
        "delete_file": {"type": "delete_file", "path": "README.md"},
        "presence": {"type": "presence", "path": "app/main.py", "line": 1},
        "chat": {"type": "chat", "text": "hello"},
        "run": {"type": "run"},
        "submit": {"type": "submit"},
        "note": {"type": "note", "text": "secret note"},
        "reveal_task": {"type": "reveal_task"},
        "start": {"type": "start"},
        "end": {"type": "end"},
        "rate": {"type": "rate", "criterion_id": "communication", "level": 2, "comment": ""},
        "regrade": {"type": "regrade"},
        "term_open": {"type": "term_open"},
        "term_in": {"type": "term_in", "data": "ls\r"},
        "term_resize": {"type": "term_resize", "rows": 30, "cols": 100},
        "term_allow": {"type": "term_allow", "on": True},
    }[kind]


@pytest.fixture
def setup(
    personas: dict[str, Any], other_interviewer: Any, interview_and_token: tuple[Interview, str]
) -> dict[str, Any]:
    interview, token = interview_and_token
    return {
        "interview": interview,
        "anonymous": Client(),
        "outsider": client_for(personas["outsider"]),
        "hiring_manager": client_for(personas["hiring_manager"]),
        "other_interviewer": client_for(other_interviewer),
        "interviewer": client_for(personas["interviewer"]),
        "candidate": candidate_client(token),
    }


# ----------------------------------------------------------------- who may connect


@pytest.mark.parametrize("kind", ALL_TYPES)
@pytest.mark.parametrize(
    "who", ["anonymous", "outsider", "hiring_manager", "other_interviewer", "candidate"]
)
def test_console_socket_refuses_everyone_but_the_interviews_interviewers(
    setup: dict[str, Any], who: str, kind: str
) -> None:
    interview = setup["interview"]

    assert_refused(f"/ws/console/{interview.pk}/", setup[who])
    # Nothing that any message type would have done happened.
    interview.refresh_from_db()
    assert interview.state == "scheduled" and interview.revealed_tasks == 0
    assert not interview.events.filter(kind__in=["message", "note", "rating"]).exists()
    assert not interview.test_runs.exists()


@pytest.mark.parametrize("kind", ALL_TYPES)
@pytest.mark.parametrize("who", ["anonymous", "outsider", "hiring_manager", "interviewer"])
def test_room_socket_refuses_everyone_without_the_candidates_session(
    setup: dict[str, Any], who: str, kind: str
) -> None:
    interview = setup["interview"]
    interview_services.interview_start(interview=interview, actor="ivy")

    assert_refused("/ws/room/", setup[who])
    assert WorkspaceFile.objects.get(interview=interview, path="app/main.py").version == 1
    assert not interview.events.filter(kind__in=["message", "edit", "run"]).exists()


def test_sockets_from_another_origin_are_refused(setup: dict[str, Any]) -> None:
    interview = setup["interview"]

    async def scenario() -> None:
        for path, who in [
            ("/ws/room/", "candidate"),
            (f"/ws/console/{interview.pk}/", "interviewer"),
        ]:
            comm, connected = await connect(path, setup[who], origin=b"http://evil.example")
            assert not connected
            comm, connected = await connect(path, setup[who])
            assert connected
            await comm.disconnect()

    run(scenario)


# ----------------------------------------------------------------- who may send what


@pytest.mark.parametrize("kind", sorted(set(STAFF_TYPES) - set(CANDIDATE_TYPES)))
def test_candidate_cannot_send_staff_messages(setup: dict[str, Any], kind: str) -> None:
    interview = setup["interview"]
    interview_services.interview_start(interview=interview, actor="ivy")

    async def scenario() -> dict:
        comm, connected = await connect("/ws/room/", setup["candidate"])
        assert connected
        await until(comm, lambda m: m["type"] == "state")
        reply, _ = await request(comm, sample(kind, interview), 1)
        await comm.disconnect()
        return reply

    reply = run(scenario)
    assert reply["type"] == "error" and reply["code"] == "forbidden"
    interview.refresh_from_db()
    assert interview.state == "live" and interview.revealed_tasks == 0
    assert not interview.events.filter(kind__in=["note", "rating"]).exists()


@pytest.mark.parametrize("kind", sorted(set(CANDIDATE_TYPES) - set(STAFF_TYPES)))
def test_interviewer_cannot_send_candidate_messages(setup: dict[str, Any], kind: str) -> None:
    interview = setup["interview"]
    interview_services.interview_start(interview=interview, actor="ivy")

    async def scenario() -> dict:
        comm, connected = await connect(f"/ws/console/{interview.pk}/", setup["interviewer"])
        assert connected
        await until(comm, lambda m: m["type"] == "state")
        reply, _ = await request(comm, sample(kind, interview), 1)
        await comm.disconnect()
        return reply

    reply = run(scenario)
    assert reply["type"] == "error" and reply["code"] == "forbidden"
    assert WorkspaceFile.objects.get(interview=interview, path="app/main.py").version == 1
    assert interview.files.count() == 2 and not interview.test_runs.exists()


# ----------------------------------------------------------------- what each receives


def test_late_joiners_get_the_current_state_first_and_the_candidate_no_staff_data(
    setup: dict[str, Any],
) -> None:
    interview = setup["interview"]
    interview_services.interview_start(interview=interview, actor="ivy")
    interview_services.task_reveal_next(interview=interview, actor="ivy")

    async def scenario() -> tuple[dict, dict]:
        staff, _ = await connect(f"/ws/console/{interview.pk}/", setup["interviewer"])
        await until(staff, lambda m: m["type"] == "state")
        await request(staff, {"type": "note", "text": "strong start"}, 1)
        await request(staff, {"type": "chat", "text": "hi from the PM"}, 2)
        cand, _ = await connect("/ws/room/", setup["candidate"])
        cand_state = json.loads(await cand.receive_from(timeout=5))
        staff2, _ = await connect(f"/ws/console/{interview.pk}/", setup["interviewer"])
        staff_state = json.loads(await staff2.receive_from(timeout=5))
        for c in (staff, cand, staff2):
            await c.disconnect()
        return cand_state, staff_state

    cand_state, staff_state = run(scenario)
    assert cand_state["type"] == "state" and staff_state["type"] == "state"
    assert [t["title"] for t in cand_state["tasks"]] == ["Add a field"]
    assert [m["data"]["text"] for m in cand_state["messages"]] == ["hi from the PM"]
    text = json.dumps(cand_state)
    for secret in ["strong start", "notes", "pm_script", "We want summaries", "criteria"]:
        assert secret not in text
    assert [n["data"]["text"] for n in staff_state["notes"]] == ["strong start"]
    assert staff_state["pm_script"]["tasks"][0]["script"][0]["items"] == ["We want summaries."]
    assert [c["id"] for c in staff_state["criteria"]] == ["communication"]


def test_edits_save_with_versions_reach_the_interviewer_and_stale_ones_are_refused(
    setup: dict[str, Any],
) -> None:
    interview = setup["interview"]
    interview_services.interview_start(interview=interview, actor="ivy")

    async def scenario() -> dict[str, Any]:
        staff, _ = await connect(f"/ws/console/{interview.pk}/", setup["interviewer"])
        await until(staff, lambda m: m["type"] == "state")
        cand, _ = await connect("/ws/room/", setup["candidate"])
        await until(cand, lambda m: m["type"] == "state")
        edit = {"type": "edit", "path": "app/main.py", "base_version": 1, "content": "x = 1\n"}
        saved, _ = await request(cand, edit, 1)
        seen, _ = await until(
            staff, lambda m: m["type"] == "event" and m["event"]["kind"] == "file"
        )
        # A second tab that still holds version 1 must not overwrite the newer text.
        stale, _ = await request(cand, {**edit, "content": "old tab\n"}, 2)
        await cand.send_json_to({"type": "presence", "path": "app/main.py", "line": 1})
        presence, _ = await until(
            staff, lambda m: m["type"] == "event" and m["event"]["kind"] == "presence"
        )
        for c in (staff, cand):
            await c.disconnect()
        return {"saved": saved, "seen": seen, "stale": stale, "presence": presence}

    out = run(scenario)
    assert out["saved"] == {"type": "saved", "path": "app/main.py", "version": 2, "seq": 1}
    assert out["seen"]["event"]["content"] == "x = 1\n" and out["seen"]["event"]["version"] == 2
    assert out["stale"]["type"] == "conflict"
    assert out["stale"]["file"] == {"path": "app/main.py", "version": 2, "content": "x = 1\n"}
    assert out["presence"]["event"]["path"] == "app/main.py"
    stored = WorkspaceFile.objects.get(interview=interview, path="app/main.py")
    assert (stored.content, stored.version) == ("x = 1\n", 2)
    edit_event = interview.events.get(kind=TimelineEvent.Kind.EDIT)
    assert edit_event.data["content"] == "x = 1\n"


def test_text_that_cannot_be_stored_is_refused_with_a_reason_and_nothing_changes(
    setup: dict[str, Any],
) -> None:
    # PostgreSQL stores neither NUL nor a lone surrogate: refused in both modes, so an
    # edit never fails later in production, and each refusal says what to fix.
    interview = setup["interview"]
    interview_services.interview_start(interview=interview, actor="ivy")
    before = WorkspaceFile.objects.get(interview=interview, path="app/main.py")

    async def scenario() -> list[dict[str, Any]]:
        cand, _ = await connect("/ws/room/", setup["candidate"])
        await until(cand, lambda m: m["type"] == "state")
        replies = []
        edit = {"type": "edit", "path": "app/main.py", "base_version": 1}
        # More refusals than MAX_VIOLATIONS (which would close the socket).
        unstorable = ["x = '\x00'\n", "x = '\ud800'\n"] * (MAX_VIOLATIONS // 2 + 1)
        for seq, content in enumerate(unstorable, start=1):
            replies.append((await request(cand, {**edit, "content": content}, seq))[0])
        replies.append((await request(cand, {"type": "chat", "text": "a\x00b"}, 99))[0])
        # Still connected (a refusal of this kind is not a violation), and a clean edit saves.
        replies.append((await request(cand, {**edit, "content": "x = 1\n"}, 100))[0])
        await cand.disconnect()
        return replies

    replies = run(scenario)
    for reply in replies[:-1]:
        assert reply["type"] == "error" and "NUL character" in reply["message"], reply
    assert replies[-1]["type"] == "saved"
    stored = WorkspaceFile.objects.get(interview=interview, path="app/main.py")
    assert (stored.content, stored.version) == ("x = 1\n", before.version + 1)
    assert not interview.events.filter(kind=TimelineEvent.Kind.MESSAGE).exists()


def test_every_refusal_of_an_edit_names_its_file_and_request_and_a_later_edit_saves(
    setup: dict[str, Any],
) -> None:
    """The room marks the refused file unsaved with the reason (issue 18): each needs both."""
    from interviews.services import MAX_FILE_BYTES

    interview = setup["interview"]
    interview_services.interview_start(interview=interview, actor="ivy")
    edit = {"type": "edit", "path": "app/main.py", "base_version": 1}
    refused = {
        "NUL": {**edit, "content": "a\x00b"},
        "lone surrogate": {**edit, "content": "a\ud800b"},
        "too large": {**edit, "content": "x" * (MAX_FILE_BYTES + 1)},
        "bad path": {**edit, "path": "../etc/passwd", "content": "x"},
        "malformed": {**edit, "base_version": "1", "content": "x"},
    }

    async def scenario() -> tuple[dict[str, dict], dict]:
        cand, _ = await connect("/ws/room/", setup["candidate"])
        await until(cand, lambda m: m["type"] == "state")
        replies = {}
        for seq, (why, message) in enumerate(refused.items(), start=1):
            replies[why] = (await request(cand, message, seq))[0]
        saved = (await request(cand, {**edit, "content": "ab\n"}, 50))[0]
        await cand.disconnect()
        return replies, saved

    replies, saved = run(scenario)
    for seq, (why, reply) in enumerate(replies.items(), start=1):
        assert reply["type"] == "error" and reply["message"], why
        assert reply["seq"] == seq and reply["path"] == refused[why]["path"], why
    assert "NUL character" in replies["NUL"]["message"]
    assert "256 KB" in replies["too large"]["message"]
    assert saved["type"] == "saved" and saved["version"] == 2


def test_edit_events_are_coalesced_but_checkpoints_keep_the_latest_text(
    setup: dict[str, Any],
) -> None:
    interview = setup["interview"]
    interview_services.interview_start(interview=interview, actor="ivy")

    async def scenario() -> None:
        cand, _ = await connect("/ws/room/", setup["candidate"])
        await until(cand, lambda m: m["type"] == "state")
        text = ""
        for i in range(20):
            text += "x"
            await request(
                cand,
                {"type": "edit", "path": "README.md", "base_version": i + 1, "content": text},
                i + 1,
            )
        await request(
            cand,
            {
                "type": "edit",
                "path": "README.md",
                "base_version": 21,
                "content": text + "!",
                "checkpoint": True,
            },
            99,
        )
        await cand.disconnect()

    run(scenario)
    edits = list(interview.events.filter(kind="edit").order_by("id"))
    assert 2 <= len(edits) < 21
    assert edits[-1].data == {"path": "README.md", "version": 22, "content": "x" * 20 + "!"}


def test_workspace_limits_have_clear_messages(setup: dict[str, Any], settings: Any) -> None:
    from interviews.services import MAX_FILE_BYTES

    interview = setup["interview"]
    interview_services.interview_start(interview=interview, actor="ivy")

    async def scenario() -> list[dict]:
        cand, _ = await connect("/ws/room/", setup["candidate"])
        await until(cand, lambda m: m["type"] == "state")
        big = {
            "type": "edit",
            "path": "app/main.py",
            "base_version": 1,
            "content": "x" * (MAX_FILE_BYTES + 1),
        }
        too_big, _ = await request(cand, big, 1)
        bad_name, _ = await request(cand, {"type": "create_file", "path": "../etc/passwd"}, 2)
        exists, _ = await request(cand, {"type": "create_file", "path": "README.md"}, 3)
        huge_chat, _ = await request(cand, {"type": "chat", "text": "y" * 20000}, 4)
        await cand.disconnect()
        return [too_big, bad_name, exists, huge_chat]

    too_big, bad_name, exists, huge_chat = run(scenario)
    assert too_big["code"] == "limit" and "the limit is 256 KB per file" in too_big["message"]
    assert "not a valid file name" in bad_name["message"]
    assert "already exists" in exists["message"]
    assert huge_chat["code"] == "too_large"
    assert WorkspaceFile.objects.get(interview=interview, path="app/main.py").version == 1


def test_file_count_limit(setup: dict[str, Any], monkeypatch: Any) -> None:
    from web import services

    monkeypatch.setattr(services, "MAX_FILES", 3)
    interview = setup["interview"]
    interview_services.interview_start(interview=interview, actor="ivy")

    async def scenario() -> tuple[dict, dict]:
        cand, _ = await connect("/ws/room/", setup["candidate"])
        await until(cand, lambda m: m["type"] == "state")
        ok, _ = await request(cand, {"type": "create_file", "path": "app/extra.py"}, 1)
        refused, _ = await request(cand, {"type": "create_file", "path": "app/more.py"}, 2)
        await cand.disconnect()
        return ok, refused

    ok, refused = run(scenario)
    assert ok["type"] == "created"
    assert refused["code"] == "limit" and "the limit is 3" in refused["message"]
    assert interview.files.count() == 3


def test_message_rate_limit(setup: dict[str, Any]) -> None:
    interview = setup["interview"]

    async def scenario() -> list[dict]:
        cand, _ = await connect("/ws/room/", setup["candidate"])
        await until(cand, lambda m: m["type"] == "state")
        replies = []
        for i in range(10):
            reply, _ = await request(cand, {"type": "chat", "text": f"m{i}"}, i + 1)
            replies.append(reply)
        await cand.disconnect()
        return replies

    replies = run(scenario)
    assert any(r.get("code") == "rate_limited" for r in replies)
    sent = interview.events.filter(kind="message").count()
    assert 1 <= sent < 10


def test_notes_and_ratings_never_reach_the_candidate(setup: dict[str, Any]) -> None:
    interview = setup["interview"]
    interview_services.interview_start(interview=interview, actor="ivy")

    async def scenario() -> tuple[list, dict, dict]:
        staff, _ = await connect(f"/ws/console/{interview.pk}/", setup["interviewer"])
        await until(staff, lambda m: m["type"] == "state")
        cand, _ = await connect("/ws/room/", setup["candidate"])
        await until(cand, lambda m: m["type"] == "state")
        note, _ = await request(staff, {"type": "note", "text": "hesitant on errors"}, 1)
        rated, _ = await request(staff, sample("rate", interview), 2)
        await request(staff, {"type": "reveal_task"}, 3)
        await request(staff, {"type": "chat", "text": "see task 1"}, 4)
        _, seen = await until(
            cand, lambda m: m["type"] == "event" and m["event"]["kind"] == "message"
        )
        await request(cand, {"type": "ping"}, 5)
        for c in (staff, cand):
            await c.disconnect()
        return seen, note, rated

    seen, note, rated = run(scenario)
    assert note["type"] == "ok" and rated["type"] == "rated"
    kinds = [m["event"]["kind"] for m in seen if m["type"] == "event"]
    assert "task_revealed" in kinds and "message" in kinds
    task_event = next(m["event"] for m in seen if m.get("event", {}).get("kind") == "task_revealed")
    assert task_event["task"]["body"].startswith("Add **summary**")
    assert task_event["task"]["body_html"].startswith("<p>Add <strong>summary</strong>.</p>")
    assert "<script" not in task_event["task"]["body_html"]
    assert "note" not in kinds and "rating" not in kinds
    assert "hesitant on errors" not in json.dumps(seen)


def test_a_revoked_invite_loses_the_socket(setup: dict[str, Any], monkeypatch: Any) -> None:
    from web import consumers

    monkeypatch.setattr(consumers, "REAUTHORISE_SECONDS", 0.0)
    interview = setup["interview"]
    interview_services.interview_start(interview=interview, actor="ivy")

    async def scenario() -> dict:
        from channels.db import database_sync_to_async

        cand, _ = await connect("/ws/room/", setup["candidate"])
        await until(cand, lambda m: m["type"] == "state")
        await database_sync_to_async(interview_services.invite_revoke)(interview=interview)
        await cand.send_to(text_data=json.dumps({"type": "ping", "seq": 1}))
        closed = await cand.receive_output(timeout=5)
        return closed

    closed = run(scenario)
    assert closed == {"type": "websocket.close", "code": 4403}


def test_interviewer_starts_reveals_and_chats(setup: dict[str, Any]) -> None:
    interview = setup["interview"]

    async def scenario() -> list[dict]:
        staff, _ = await connect(f"/ws/console/{interview.pk}/", setup["interviewer"])
        await until(staff, lambda m: m["type"] == "state")
        cand, _ = await connect("/ws/room/", setup["candidate"])
        await until(cand, lambda m: m["type"] == "state")
        early, _ = await request(cand, sample("edit", interview), 1)
        started, _ = await request(staff, {"type": "start"}, 2)
        live, _ = await until(
            cand, lambda m: m["type"] == "event" and m["event"]["kind"] == "started"
        )
        replies = [early, started, live]
        for i in range(3):
            reply, _ = await request(staff, {"type": "reveal_task"}, 10 + i)
            replies.append(reply)
        for c in (staff, cand):
            await c.disconnect()
        return replies

    early, started, live, first, second, third = run(scenario)
    assert early["type"] == "error" and "not live" in early["message"]
    assert started["type"] == "ok" and live["event"]["interview"]["state"] == "live"
    assert live["event"]["interview"]["deadline"]
    assert first["type"] == second["type"] == "ok"
    assert third["type"] == "error" and "already revealed" in third["message"]


# ----------------------------------------------------------------- grading again


def ended_with_errored_grading(interview: Interview) -> TestRun:
    """An ended interview whose hidden run the platform gave up on (sandbox unavailable)."""
    if interview.state == Interview.State.SCHEDULED:
        interview_services.interview_start(interview=interview, actor="ivy")
    # Not interview_end: that would queue a real grading; the row below stands for
    # one that already ran out of retries.
    interview.transition(Interview.State.ENDED)
    return TestRun.objects.create(
        interview=interview,
        snapshot=Snapshot.of(interview_services.workspace_files(interview)),
        kind=TestRun.Kind.HIDDEN,
        suite_version=interview.exercise_version,
        requested_by="ivy",
        state=TestRun.State.ERROR,
        attempts=4,
        infra_error="SandboxError: sandbox unavailable",
        finished_at=timezone.now(),
    )


@pytest.mark.parametrize("who", ["anonymous", "outsider", "hiring_manager", "other_interviewer"])
def test_only_the_interviews_interviewers_can_grade_again(setup: dict[str, Any], who: str) -> None:
    interview = setup["interview"]
    errored = ended_with_errored_grading(interview)

    assert_refused(f"/ws/console/{interview.pk}/", setup[who])
    errored.refresh_from_db()
    assert errored.state == "error" and errored.infra_error == "SandboxError: sandbox unavailable"
    assert interview.test_runs.count() == 1


def test_the_candidates_socket_cannot_grade_again(setup: dict[str, Any]) -> None:
    interview = setup["interview"]
    errored = ended_with_errored_grading(interview)

    async def scenario() -> dict:
        comm, connected = await connect("/ws/room/", setup["candidate"])
        assert connected
        await until(comm, lambda m: m["type"] == "state")
        reply, _ = await request(comm, sample("regrade", interview), 1)
        await comm.disconnect()
        return reply

    reply = run(scenario)
    assert reply["type"] == "error" and reply["code"] == "forbidden"
    errored.refresh_from_db()
    assert errored.state == "error" and errored.attempts == 4
    assert interview.test_runs.count() == 1


def test_grading_again_re_queues_the_errored_run_and_its_progress_reaches_the_console(
    setup: dict[str, Any], monkeypatch: Any
) -> None:
    from grading import queue

    # room-demo is not in the exercise catalog, so the re-queued run is retried and
    # given up on again; keep those retries short.
    monkeypatch.setattr(queue, "RETRY_BACKOFF_SECONDS", 0.01)
    interview = setup["interview"]
    errored = ended_with_errored_grading(interview)

    async def scenario() -> dict[str, Any]:
        staff, _ = await connect(f"/ws/console/{interview.pk}/", setup["interviewer"])
        state, _ = await until(staff, lambda m: m["type"] == "state")
        reply, _ = await request(staff, {"type": "regrade"}, 1)
        queued, _ = await until(
            staff,
            lambda m: (
                m["type"] == "event"
                and m["event"]["kind"] == "run"
                and m["event"]["run"]["id"] == errored.pk
                and m["event"]["run"]["state"] == "queued"
            ),
        )
        running, _ = await until(
            staff,
            lambda m: (
                m["type"] == "event"
                and m["event"]["kind"] == "run"
                and m["event"]["run"]["id"] == errored.pk
                and m["event"]["run"]["state"] == "running"
            ),
        )
        await staff.disconnect()
        return {"state": state, "reply": reply, "queued": queued, "running": running}

    out = run(scenario)
    queue.wait_idle()
    shown = next(r for r in out["state"]["runs"] if r["id"] == errored.pk)
    assert shown["state"] == "error" and shown["infra_error"] == "SandboxError: sandbox unavailable"
    assert out["reply"]["type"] == "regrade_requested"
    assert out["reply"]["run"]["id"] == errored.pk  # the same files: the same run, not a new one
    assert out["reply"]["run"]["state"] == "queued" and out["reply"]["run"]["infra_error"] == ""
    assert out["queued"]["event"]["run"]["infra_error"] == ""
    assert interview.test_runs.count() == 1
    errored.refresh_from_db()
    assert errored.attempts > 4  # it was executed again


def test_grading_again_is_refused_unless_an_ended_interviews_grading_failed(
    setup: dict[str, Any],
) -> None:
    interview = setup["interview"]
    interview_services.interview_start(interview=interview, actor="ivy")

    async def ask() -> dict:
        staff, _ = await connect(f"/ws/console/{interview.pk}/", setup["interviewer"])
        await until(staff, lambda m: m["type"] == "state")
        reply, _ = await request(staff, {"type": "regrade"}, 1)
        await staff.disconnect()
        return reply

    live = run(ask)
    errored = ended_with_errored_grading(interview)
    TestRun.objects.filter(pk=errored.pk).update(state=TestRun.State.QUEUED, infra_error="")
    in_flight = run(ask)
    TestRun.objects.filter(pk=errored.pk).update(state=TestRun.State.PASSED)
    Interview.objects.filter(pk=interview.pk).update(state=Interview.State.GRADED)
    graded = run(ask)

    async def flood() -> list[dict]:
        staff, _ = await connect(f"/ws/console/{interview.pk}/", setup["interviewer"])
        await until(staff, lambda m: m["type"] == "state")
        replies = []
        for i in range(6):
            reply, _ = await request(staff, {"type": "regrade"}, 10 + i)
            replies.append(reply)
        await staff.disconnect()
        return replies

    replies = run(flood)
    assert live["type"] == "error" and "after the interview has ended" in live["message"]
    assert in_flight["type"] == "error" and "being graded already" in in_flight["message"]
    assert graded["type"] == "error" and "nothing to grade again" in graded["message"]
    assert [r.get("code") for r in replies].count("rate_limited") >= 3
    errored.refresh_from_db()
    assert errored.state == "passed" and interview.test_runs.count() == 1


def test_the_console_shows_an_ended_interview_nothing_grades_and_grade_again_grades_it(
    setup: dict[str, Any],
) -> None:
    """Ended after a Submit, before the fix for issue 18: a finished run, no scorecard."""
    import rubrics
    from tests.review.conftest import RUBRIC

    interview = setup["interview"]
    exercise = interview.exercise
    exercise.manifest = {**exercise.manifest, "rubric": rubrics.parse_rubric(RUBRIC).to_dict()}
    exercise.save(update_fields=["manifest"])
    finished = ended_with_errored_grading(interview)
    TestRun.objects.filter(pk=finished.pk).update(state=TestRun.State.FAILED, infra_error="")

    async def scenario() -> dict[str, Any]:
        staff, _ = await connect(f"/ws/console/{interview.pk}/", setup["interviewer"])
        before, _ = await until(staff, lambda m: m["type"] == "state")
        reply, _ = await request(staff, {"type": "regrade"}, 1)
        card, _ = await until(
            staff, lambda m: m["type"] == "event" and m["event"]["kind"] == "scorecard"
        )
        after, _ = await request(staff, {"type": "sync"}, 2)
        await staff.disconnect()
        return {"before": before, "reply": reply, "card": card, "after": after}

    out = run(scenario)
    assert out["before"]["interview"]["grading_stuck"] is True
    assert out["reply"]["type"] == "regrade_requested"
    assert out["reply"]["run"]["id"] == finished.pk  # the finished run is reused
    assert out["after"]["interview"]["state"] == "graded"
    assert out["after"]["interview"]["grading_stuck"] is False
    assert out["after"]["scorecard"] is not None
    interview.refresh_from_db()
    assert interview.state == Interview.State.GRADED and interview.test_runs.count() == 1


def test_the_candidate_is_not_told_whether_grading_is_stuck(setup: dict[str, Any]) -> None:
    interview = setup["interview"]
    ended_with_errored_grading(interview)

    async def scenario() -> dict:
        comm, _ = await connect("/ws/room/", setup["candidate"])
        state, _ = await until(comm, lambda m: m["type"] == "state")
        await comm.disconnect()
        return state

    assert "grading_stuck" not in run(scenario)["interview"]


def test_a_scorer_that_fails_at_the_end_is_shown_to_staff_not_lost(setup: dict[str, Any]) -> None:
    # A stored rubric the scorer cannot read: End still ends, and the run says why.
    interview = setup["interview"]
    exercise = interview.exercise
    exercise.manifest = {**exercise.manifest, "rubric": {"criteria": "not a list"}}
    exercise.save(update_fields=["manifest"])
    finished = ended_with_errored_grading(interview)
    TestRun.objects.filter(pk=finished.pk).update(state=TestRun.State.PASSED, infra_error="")
    from grading.services import grading_retry

    run = grading_retry(interview=interview, requested_by="ivy")
    assert run.state == TestRun.State.ERROR and "scoring failed" in run.infra_error
    interview.refresh_from_db()
    assert interview.state == Interview.State.ENDED


def test_files_under_the_runners_folder_are_refused_with_a_reason(setup: dict[str, Any]) -> None:
    interview = setup["interview"]
    interview_services.interview_start(interview=interview, actor="ivy")

    async def scenario() -> list[dict]:
        cand, _ = await connect("/ws/room/", setup["candidate"])
        await until(cand, lambda m: m["type"] == "state")
        replies = []
        for seq, path in enumerate([".faultline/tests/test_mine.py", ".Faultline/x.py"], 1):
            reply, _ = await request(cand, {"type": "create_file", "path": path}, seq)
            replies.append(reply)
        edit = {"type": "edit", "path": ".faultline/pytest.ini", "base_version": 1, "content": ""}
        reply, _ = await request(cand, edit, 3)
        replies.append(reply)
        await cand.disconnect()
        return replies

    for reply in run(scenario):
        assert reply["type"] == "error" and reply["code"] == "refused"
        assert "was not saved: .faultline/ is Faultline's own folder" in reply["message"]
        assert "never reach your tests or the grader" in reply["message"]
    assert not WorkspaceFile.objects.filter(interview=interview, path__icontains="faultline")


def test_revoking_shuts_a_waiting_candidate_out_at_once(setup: dict[str, Any]) -> None:
    interview = setup["interview"]  # scheduled: the candidate waits in the lobby

    async def scenario() -> dict:
        from channels.db import database_sync_to_async

        cand, _ = await connect("/ws/room/", setup["candidate"])
        await until(cand, lambda m: m["type"] == "state")
        await database_sync_to_async(interview_services.invite_revoke)(interview=interview)
        # Nothing sent by the candidate: the revocation itself closes the socket.
        return await cand.receive_output(timeout=5)

    assert run(scenario) == {"type": "websocket.close", "code": 4403}
    room = setup["candidate"].get("/room/")
    assert room.status_code == 403
    assert "Your invite link was revoked" in room.content.decode()
