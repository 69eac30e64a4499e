"""Websocket glue for the interview room: authorise, limit, dispatch to a service, send.

Two endpoints share one shape: the candidate's room (the interview comes from
the session their invite opened) and the interviewer's console (the interview
comes from the URL and the user must be one of its interviewers). Every
message is checked against the sender's role; the ORM is reached only through
services wrapped in `database_sync_to_async`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import close_old_connections

from faultline.storable import is_storable
from grading import services as grading_services
from grading.services import RateLimited
from interviews import services as interview_services
from interviews.events import group_name
from interviews.models import IllegalTransition, Interview
from web import access, selectors, services, terminal_port
from web import presence as presences
from web.services import RoomError, StaleEdit

log = logging.getLogger(__name__)

# An edit carries a whole file (at most 256 KB of UTF-8); JSON escaping can
# grow it, so the frame limit for edits is generous and every other message
# type gets a small one.
MAX_EDIT_FRAME = 1024 * 1024
MAX_OTHER_FRAME = 16 * 1024
# How long a connection's authorisation is trusted before it is checked again
# (a revoked invite or a removed interviewer loses the socket within this).
REAUTHORISE_SECONDS = 5.0
# Refused messages a client may send before the socket is closed.
MAX_VIOLATIONS = 50

# The terminal's messages, limited by their own bucket.
TERMINAL_KINDS = frozenset({"term_in", "term_resize"})

CLOSE_FORBIDDEN = 4403
CLOSE_DISPLACED = 4409  # the interview was opened in another browser
CLOSE_ABUSE = 4429
DISPLACED = {
    "type": "displaced",
    "message": (
        "This interview was opened in another browser. Editing here has stopped; "
        "your unsaved changes stay in this browser."
    ),
}


class TokenBucket:
    """`rate` messages a second on average, bursts up to `capacity`."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate, self.capacity = rate, capacity
        self.tokens, self.stamp = capacity, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


Handler = Callable[[dict[str, Any]], Awaitable[None]]


class RoomConsumer(AsyncWebsocketConsumer):
    """What the candidate's and the interviewer's sockets have in common."""

    role = ""
    interview: Interview

    # ------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        interview = await self.authorise()
        if interview is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        if await self.displaced(interview):
            await self.accept()  # accepted only to say why it closes at once
            await self.displace()
            return
        self.interview = interview
        self.authorised_at = time.monotonic()
        self.violations = 0
        self.buckets = {
            "any": TokenBucket(rate=25, capacity=60),
            "talk": TokenBucket(rate=0.5, capacity=6),
            "run": TokenBucket(rate=0.2, capacity=3),
            # Keystrokes have their own: a held key repeats at 30 a second, a paste comes
            # in 4 KB pieces (the shell's output is bounded on its own, sandbox/terminal.py).
            "term": TokenBucket(rate=200, capacity=400),
        }
        self.groups_joined = self.audiences()
        for audience in self.groups_joined:
            await self.channel_layer.group_add(
                group_name(interview.pk, audience), self.channel_name
            )
        await self.accept()
        # Joined first, state second: an event that lands in between arrives
        # after the state and carries a newer version or id, which the client keeps.
        await self.send_state()
        await self.joined()

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "interview"):
            return
        for audience in self.groups_joined:
            await self.channel_layer.group_discard(
                group_name(self.interview.pk, audience), self.channel_name
            )
        await self.left()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.heard()
        if text_data is None:
            await self.refuse("bad_request", "Only JSON text messages are accepted.")
            return
        if len(text_data) > MAX_EDIT_FRAME:
            await self.refuse("too_large", "That message is too large.")
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            await self.refuse("bad_request", "Malformed message.")
            return
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.refuse("bad_request", "Malformed message.")
            return
        kind = message["type"]
        handler = self.handlers().get(kind)
        if handler is None:
            await self.refuse(
                "forbidden", f"“{kind[:40]}” is not something you can do here.", message
            )
            return
        if kind != "edit" and len(text_data) > MAX_OTHER_FRAME:
            await self.refuse("too_large", "That message is too large.", message)
            return
        if not self.buckets["term" if kind in TERMINAL_KINDS else "any"].take():
            await self.refuse("rate_limited", "Too many messages; slow down a little.", message)
            return
        if not await self.still_authorised():
            if self.interview_displaced:
                await self.displace()
            else:
                await self.close(code=CLOSE_FORBIDDEN)
            return
        if not is_storable(message):
            # Refused, not cleaned: the sender's copy stays as it is and they are told why.
            # Not a violation: an editor resends the file at every keystroke until it is fixed.
            text = (
                "That text holds a NUL character or a broken Unicode character, "
                "which cannot be saved. Remove it and try again."
            )
            await self.reply(message, {"type": "error", "code": "refused", "message": text})
            return
        try:
            await handler(message)
        except RoomError as exc:
            await self.reply(message, {"type": "error", "code": "refused", "message": str(exc)})
        except (ValueError, IllegalTransition) as exc:
            await self.reply(message, {"type": "error", "code": "refused", "message": str(exc)})

    # ------------------------------------------------------------ helpers

    async def authorise(self) -> Interview | None:
        raise NotImplementedError

    def audiences(self) -> list[str]:
        raise NotImplementedError

    def handlers(self) -> dict[str, Handler]:
        raise NotImplementedError

    async def joined(self) -> None:
        pass

    async def left(self) -> None:
        pass

    async def heard(self) -> None:
        """Any frame from the client: it is still there."""

    async def displaced(self, interview: Interview) -> bool:
        """Whether this socket's browser no longer holds the interview."""
        return False

    async def displace(self) -> None:
        await self.send_json(dict(DISPLACED))
        await self.close(code=CLOSE_DISPLACED)

    interview_displaced = False

    async def still_authorised(self) -> bool:
        if time.monotonic() - self.authorised_at < REAUTHORISE_SECONDS:
            return True
        interview = await self.authorise()
        if interview is None or interview.pk != self.interview.pk:
            return False
        if await self.displaced(interview):
            self.interview_displaced = True
            return False
        self.authorised_at = time.monotonic()
        return True

    async def send_json(self, payload: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(payload, separators=(",", ":")))

    async def reply(self, request: dict[str, Any] | None, payload: dict[str, Any]) -> None:
        seq = (request or {}).get("seq")
        if isinstance(seq, int):
            payload["seq"] = seq
        path = (request or {}).get("path")
        if payload.get("type") == "error" and (request or {}).get("type") == "edit":
            # Every refusal of an edit names its file: the room marks that file unsaved.
            if isinstance(path, str):
                payload.setdefault("path", path[: services.MAX_PATH_CHARS])
        await self.send_json(payload)

    async def refuse(self, code: str, text: str, request: dict[str, Any] | None = None) -> None:
        self.violations += 1
        await self.reply(request, {"type": "error", "code": code, "message": text})
        if self.violations > MAX_VIOLATIONS:
            await self.close(code=CLOSE_ABUSE)

    async def send_state(self, request: dict[str, Any] | None = None) -> None:
        state = await database_sync_to_async(selectors.room_state)(
            self.interview, staff=self.role == "staff"
        )
        await self.reply(request, {"type": "state", "role": self.role, **state})

    async def to_group(self, audience: str, event: dict[str, Any]) -> None:
        await self.channel_layer.group_send(
            group_name(self.interview.pk, audience), {"type": "interview.event", "event": event}
        )

    async def talk_allowed(self, request: dict[str, Any]) -> bool:
        if self.buckets["talk"].take():
            return True
        await self.refuse("rate_limited", "You are sending messages too fast.", request)
        return False

    async def on_ping(self, message: dict[str, Any]) -> None:
        await self.reply(message, {"type": "pong"})

    async def on_sync(self, message: dict[str, Any]) -> None:
        await self.send_state(message)

    async def on_chat(self, message: dict[str, Any]) -> None:
        if not await self.talk_allowed(message):
            return
        await database_sync_to_async(services.message_send)(
            interview=self.interview,
            text=message.get("text"),
            actor=self.actor(),
            role="candidate" if self.role == "candidate" else "pm",
        )
        await self.reply(message, {"type": "ok"})

    def actor(self) -> str:
        raise NotImplementedError

    # ------------------------------------------------------------ the terminal

    may_type = False

    async def on_term_open(self, message: dict[str, Any]) -> None:
        """Attach to the interview's terminal (the candidate's open starts a shell)."""
        if not await database_sync_to_async(_is_live)(self.interview.pk):
            raise RoomError("The terminal is there only while the interview is live.")
        shared = await database_sync_to_async(terminal_port.terminals().hub)(self.interview.pk)
        if self.role == "candidate":
            try:
                await sync_to_async(_open_terminal, thread_sensitive=False)(shared)
            except terminal_port.TerminalUnavailable as exc:
                await self.reply(
                    message, {"type": "error", "code": "term_unavailable", "message": str(exc)}
                )
                return
        state = await sync_to_async(shared.snapshot, thread_sensitive=False)()
        self.term_open = True
        await self.reply(message, {"type": "term_state", **state, "may_type": self.may_type})

    async def on_term_in(self, message: dict[str, Any]) -> None:
        data = message.get("data")
        if not isinstance(data, str) or not data:
            raise RoomError("Malformed input.")
        if not self.may_type:
            raise RoomError("The terminal is read-only here.")
        shared = terminal_port.terminals().existing(self.interview.pk)
        try:
            if shared is None:
                raise terminal_port.TerminalUnavailable("The shell is not running.")
            # On a thread: a shell that stops reading its input must not stall the server.
            await sync_to_async(shared.write, thread_sensitive=False)(
                data, self.actor(), staff=self.role == "staff"
            )
        except terminal_port.TerminalUnavailable as exc:
            await self.reply(message, {"type": "error", "code": "term_gone", "message": str(exc)})

    # ------------------------------------------------------------ group events

    async def interview_event(self, message: dict[str, Any]) -> None:
        event = message.get("event") or {}
        event = await self.filter_event(event)
        if event is not None:
            await self.send_json({"type": "event", "event": event})

    async def filter_event(self, event: dict[str, Any]) -> dict[str, Any] | None:
        if event.get("kind") in {"started", "ended", "graded"}:
            view = await database_sync_to_async(selectors.interview_view_of)(
                self.interview.pk, staff=self.role == "staff"
            )
            event = {**event, "interview": view}
        return event


# What the candidate must never receive, whatever group it reached them by.
STAFF_ONLY_KINDS = {"note", "rating", "scorecard", "graded", "presence", "candidate_online"}


class CandidateConsumer(RoomConsumer):
    """ws/room/: the candidate's socket; the interview is the one their invite opened."""

    role = "candidate"
    device = ""
    seen_at = 0.0

    async def authorise(self) -> Interview | None:
        session = self.scope.get("session")
        invite_id = session.get("candidate_invite") if session is not None else None
        if invite_id is None:
            return None
        device = session.get("candidate_device") if session is not None else None
        self.device = device if isinstance(device, str) else ""
        return await database_sync_to_async(access.candidate_interview)(invite_id)

    async def displaced(self, interview: Interview) -> bool:
        # One browser at a time: the newest join took the interview over.
        current = await database_sync_to_async(interview_services.candidate_device_is_current)(
            interview, self.device
        )
        return not current

    def audiences(self) -> list[str]:
        return ["all"]

    def actor(self) -> str:
        return "candidate"

    def handlers(self) -> dict[str, Handler]:
        return {
            "ping": self.on_ping,
            "sync": self.on_sync,
            "edit": self.on_edit,
            "create_file": self.on_create_file,
            "delete_file": self.on_delete_file,
            "presence": self.on_presence,
            "chat": self.on_chat,
            "run": self.on_run,
            "submit": self.on_submit,
            "term_open": self.on_term_open,
            "term_in": self.on_term_in,
            "term_resize": self.on_term_resize,
        }

    may_type = True

    async def on_term_resize(self, message: dict[str, Any]) -> None:
        rows, cols = message.get("rows"), message.get("cols")
        if not isinstance(rows, int) or not isinstance(cols, int):
            raise RoomError("Malformed resize.")
        shared = terminal_port.terminals().existing(self.interview.pk)
        if shared is not None:
            await sync_to_async(shared.resize, thread_sensitive=False)(rows, cols)

    async def joined(self) -> None:
        presence = await database_sync_to_async(presences.connection_open)(
            interview=self.interview, channel_name=self.channel_name, device=self.device
        )
        self.seen_at = time.monotonic()
        await self.to_group("staff", {"kind": "candidate_online", **presence})

    async def left(self) -> None:
        # Counted, not flagged: closing one of two tabs leaves the candidate online.
        presence = await database_sync_to_async(presences.connection_close)(
            interview=self.interview, channel_name=self.channel_name
        )
        await self.to_group("staff", {"kind": "candidate_online", **presence})

    async def heard(self) -> None:
        if not hasattr(self, "interview"):
            return
        if time.monotonic() - self.seen_at >= presences.SEEN_REFRESH_SECONDS:
            self.seen_at = time.monotonic()
            back = await database_sync_to_async(presences.connection_seen)(
                interview=self.interview, channel_name=self.channel_name, device=self.device
            )
            if back:
                presence = await database_sync_to_async(presences.candidate_presence)(
                    self.interview.pk
                )
                await self.to_group("staff", {"kind": "candidate_online", **presence})

    async def on_edit(self, message: dict[str, Any]) -> None:
        try:
            saved = await database_sync_to_async(services.workspace_save)(
                interview=self.interview,
                path=message.get("path"),
                base_version=message.get("base_version"),
                content=message.get("content"),
                checkpoint=bool(message.get("checkpoint")),
            )
        except StaleEdit as exc:
            current = selectors.file_view(exc.current) if exc.current else None
            await self.reply(
                message,
                {"type": "conflict", "path": message.get("path"), "file": current},
            )
            return
        except interview_services.WorkspaceLimitError as exc:
            await self.reply(
                message,
                {
                    "type": "error",
                    "code": "limit",
                    "path": message.get("path"),
                    "message": str(exc),
                },
            )
            return
        # The save has committed: the interviewer (and the candidate's other tabs)
        # get the text first, the sender its acknowledgement right after.
        await self.to_group(
            "all",
            {
                "kind": "file",
                "path": saved.path,
                "version": saved.version,
                "content": saved.content,
                "origin": self.channel_name,
                "sent_at": message.get("sent_at"),
            },
        )
        await self.reply(message, {"type": "saved", "path": saved.path, "version": saved.version})

    async def on_create_file(self, message: dict[str, Any]) -> None:
        try:
            saved = await database_sync_to_async(services.workspace_create)(
                interview=self.interview, path=message.get("path")
            )
        except interview_services.WorkspaceLimitError as exc:
            await self.reply(message, {"type": "error", "code": "limit", "message": str(exc)})
            return
        await self.reply(message, {"type": "created", "path": saved.path, "version": saved.version})
        await self.to_group(
            "all",
            {"kind": "file", "path": saved.path, "version": saved.version, "content": ""},
        )

    async def on_delete_file(self, message: dict[str, Any]) -> None:
        path = await database_sync_to_async(services.workspace_delete)(
            interview=self.interview, path=message.get("path")
        )
        await self.reply(message, {"type": "deleted", "path": path})
        await self.to_group("all", {"kind": "file_deleted", "path": path})

    async def on_presence(self, message: dict[str, Any]) -> None:
        presence = await database_sync_to_async(presences.presence_set)(
            interview=self.interview, path=message.get("path"), line=message.get("line")
        )
        await self.to_group("staff", {"kind": "presence", **presence})

    async def on_run(self, message: dict[str, Any]) -> None:

        if not self.buckets["run"].take():
            await self.refuse("rate_limited", "Wait a few seconds before running again.", message)
            return
        try:
            run = await database_sync_to_async(services.visible_run_start)(interview=self.interview)
        except RateLimited as exc:
            await self.reply(
                message, {"type": "error", "code": "rate_limited", "message": str(exc)}
            )
            return
        await self.reply(message, {"type": "run_requested", "run": run})

    async def on_submit(self, message: dict[str, Any]) -> None:
        if not self.buckets["run"].take():
            await self.refuse(
                "rate_limited", "Wait a few seconds before submitting again.", message
            )
            return
        run = await database_sync_to_async(services.submission_create)(interview=self.interview)
        await self.reply(message, {"type": "submitted", "run": run})

    async def filter_event(self, event: dict[str, Any]) -> dict[str, Any] | None:
        kind = event.get("kind")
        if kind == "joined":
            device = (event.get("data") or {}).get("device")
            if device and device != self.device:
                await self.displace()  # another browser took the interview over
            return None
        if kind in STAFF_ONLY_KINDS:
            return None
        if kind == "invite_revoked":
            # Shut out now, not at the next message: the room then says the link was revoked.
            if await self.authorise() is None:
                await self.close(code=CLOSE_FORBIDDEN)
            return None
        if kind == "run" and (event.get("run") or {}).get("kind") != "visible":
            return None
        if kind == "file" and event.get("origin") == self.channel_name:
            return None  # the sender has this text already
        if kind == "task_revealed":
            index = (event.get("data") or {}).get("index")
            task = await database_sync_to_async(selectors.task_for_candidate)(
                self.interview, index if isinstance(index, int) else -1
            )
            if task is None:
                return None
            event = {**event, "task": task}
        return await super().filter_event(event)


def _is_live(interview_id: int) -> bool:
    return Interview.objects.filter(pk=interview_id, state=Interview.State.LIVE).exists()


def _open_terminal(shared: Any) -> None:
    try:
        shared.open()
    finally:
        close_old_connections()


class ConsoleConsumer(RoomConsumer):
    """ws/console/<id>/: an interviewer's socket for an interview they belong to."""

    role = "staff"

    async def authorise(self) -> Interview | None:
        user = self.scope.get("user")
        interview_id = self.scope["url_route"]["kwargs"]["interview_id"]
        if user is None or not user.is_authenticated:
            return None
        return await database_sync_to_async(access.staff_interview)(user, interview_id)

    def audiences(self) -> list[str]:
        return ["all", "staff"]

    def actor(self) -> str:
        return str(self.scope["user"].get_username())

    def handlers(self) -> dict[str, Handler]:
        return {
            "ping": self.on_console_ping,
            "sync": self.on_sync,
            "chat": self.on_chat,
            "note": self.on_note,
            "reveal_task": self.on_reveal_task,
            "start": self.on_start,
            "end": self.on_end,
            "rate": self.on_rate,
            "regrade": self.on_regrade,
            "term_open": self.on_term_open,
            "term_in": self.on_term_in,
            "term_allow": self.on_term_allow,
        }

    async def on_term_allow(self, message: dict[str, Any]) -> None:
        """The interviewer's toggle: type in the candidate's terminal, or only watch.
        On the timeline and told to the room, so the candidate knows."""
        on = message.get("on")
        if not isinstance(on, bool):
            raise RoomError("Malformed toggle.")
        self.may_type = on
        shared = await database_sync_to_async(terminal_port.terminals().hub)(self.interview.pk)
        await sync_to_async(shared.allow_typing, thread_sensitive=False)(self.actor(), on)
        await self.reply(message, {"type": "ok"})

    presence_shown: dict[str, Any] | None = None
    presence_counted_at = 0.0

    async def on_console_ping(self, message: dict[str, Any]) -> None:
        await self.on_ping(message)
        # Recounted now and then as the console pings: a tab whose server died
        # never says goodbye, and is dropped once it has not been heard from.
        if time.monotonic() - self.presence_counted_at < presences.PRESENCE_RECOUNT_SECONDS:
            return
        self.presence_counted_at = time.monotonic()
        presence = await database_sync_to_async(presences.candidate_presence)(self.interview.pk)
        if presence != self.presence_shown:
            self.presence_shown = presence
            await self.send_json(
                {"type": "event", "event": {"kind": "candidate_online", **presence}}
            )

    async def filter_event(self, event: dict[str, Any]) -> dict[str, Any] | None:
        if event.get("kind") == "candidate_online":
            self.presence_shown = {k: v for k, v in event.items() if k != "kind"}
        return await super().filter_event(event)

    async def on_note(self, message: dict[str, Any]) -> None:
        if not await self.talk_allowed(message):
            return
        await database_sync_to_async(services.note_add)(
            interview=self.interview, text=message.get("text"), author=self.actor()
        )
        await self.reply(message, {"type": "ok"})

    async def on_reveal_task(self, message: dict[str, Any]) -> None:
        task = await database_sync_to_async(interview_services.task_reveal_next)(
            interview=self.interview, actor=self.actor()
        )
        if task is None:
            raise RoomError("Every task is already revealed.")
        await self.reply(message, {"type": "ok"})

    async def on_start(self, message: dict[str, Any]) -> None:
        await database_sync_to_async(interview_services.interview_start)(
            interview=self.interview, actor=self.actor()
        )
        await self.reply(message, {"type": "ok"})

    async def on_end(self, message: dict[str, Any]) -> None:
        await database_sync_to_async(grading_services.interview_end)(
            interview=self.interview, actor=self.actor()
        )
        await self.reply(message, {"type": "ok"})

    async def on_rate(self, message: dict[str, Any]) -> None:
        level, criterion = message.get("level"), message.get("criterion_id")
        comment = message.get("comment") or ""
        if not isinstance(level, int) or not isinstance(criterion, str):
            raise RoomError("Choose a level for the criterion.")
        if not isinstance(comment, str) or len(comment) > services.MAX_NOTE_CHARS:
            raise RoomError("The comment is too long.")
        await database_sync_to_async(services.rating_record)(
            interview=self.interview,
            criterion_id=criterion,
            level=level,
            comment=comment,
            user_id=self.scope["user"].pk,
        )
        await self.reply(message, {"type": "rated", "criterion_id": criterion, "level": level})

    async def on_regrade(self, message: dict[str, Any]) -> None:
        if not self.buckets["run"].take():
            await self.refuse("rate_limited", "Wait a few seconds before grading again.", message)
            return
        run = await database_sync_to_async(services.grading_again)(
            interview=self.interview, actor=self.actor()
        )
        # The run's progress (queued, running, its tests, the scorecard) reaches
        # every console through the staff group, as for any hidden run.
        await self.reply(message, {"type": "regrade_requested", "run": run})
