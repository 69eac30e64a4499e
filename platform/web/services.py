"""Workflows of the live room: workspace edits, chat, notes, presence and the room's state.

The consumers call these through `database_sync_to_async`; they are the only
place the room touches the ORM.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import Length
from django.utils import timezone

from interviews import events
from interviews.exercise_markdown import markdown_html
from interviews.models import CandidateInvite, Exercise, Interview, TimelineEvent, WorkspaceFile
from interviews.workspace import (
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_TOTAL_BYTES,
    WorkspaceLimitError,
    workspace_changed,
)
from web.models import CandidateConnection

MAX_MESSAGE_CHARS = 4000
MAX_NOTE_CHARS = 8000
MAX_PATH_CHARS = 200
# The timeline keeps the full text of a file at most this often while the
# candidate types (plus at every checkpoint the client asks for: blur, run,
# idle), so replay can rebuild the code without one row per keystroke.
EDIT_CHECKPOINT_SECONDS = 2.0

# Tool caches an author's checkout may hold; never part of a starter project.
_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules", ".venv"}
_PATH_RE = re.compile(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")


class RoomError(Exception):
    """A request from the room was refused; the message is for the person who sent it."""


class StaleEdit(RoomError):
    """An edit was based on an older version of the file than the one stored."""

    def __init__(self, current: WorkspaceFile | None) -> None:
        super().__init__("This file changed since your copy of it; reloaded the newer text.")
        self.current = current


# ---------------------------------------------------------------- access


def staff_can_conduct(user: User | AnonymousUser, interview: Interview) -> bool:
    """An interviewer reaches an interview only if they are one of its interviewers."""
    if not user.is_authenticated or not user.has_perm("interviews.conduct_interview"):
        return False
    return interview.interviewers.filter(pk=user.pk).exists()


def staff_interview(user: User | AnonymousUser, interview_id: int) -> Interview | None:
    interview = Interview.objects.select_related("exercise").filter(pk=interview_id).first()
    if interview is None or not staff_can_conduct(user, interview):
        return None
    return interview


def candidate_interview(invite_id: Any) -> Interview | None:
    """The interview a candidate session opens, unless its invite was revoked since."""
    if not isinstance(invite_id, int):
        return None
    invite = (
        CandidateInvite.objects.select_related("interview", "interview__exercise")
        .filter(pk=invite_id, revoked_at__isnull=True, redeemed_at__isnull=False)
        .first()
    )
    return invite.interview if invite else None


@dataclass(frozen=True)
class InviteStatus:
    """The state of an interview's newest invite link, as the dashboard shows it."""

    state: str  # "active", "expired", "revoked" or "none"
    expires_at: Any = None


def invite_status(interview: Interview) -> InviteStatus:
    """From the prefetched invites: the newest one decides (a reissue revokes the older)."""
    invites = sorted(interview.invites.all(), key=lambda i: (i.created_at, i.pk))
    if not invites:
        return InviteStatus("none")
    newest = invites[-1]
    if newest.revoked_at is not None:
        return InviteStatus("revoked")
    if newest.expires_at <= timezone.now():
        return InviteStatus("expired", newest.expires_at)
    return InviteStatus("active", newest.expires_at)


def invite_was_revoked(invite_id: Any) -> bool:
    return (
        isinstance(invite_id, int)
        and CandidateInvite.objects.filter(pk=invite_id, revoked_at__isnull=False).exists()
    )


def invite_for_token(token: str) -> CandidateInvite | None:
    from interviews.models import hash_token

    return (
        CandidateInvite.objects.select_related("interview", "interview__exercise")
        .filter(token_hash=hash_token(token))
        .first()
    )


# ---------------------------------------------------------------- exercises


def starter_files(exercise: Exercise) -> dict[str, str]:
    """The exercise's starter project, as the exercise catalog gives it."""
    from interviews.exercises import starter_files as catalog_starter_files

    try:
        return catalog_starter_files(exercise.slug)
    except KeyError:
        pass  # not a folder of the catalog (a hand-made exercise): read its starter/ as is
    root = Path(settings.EXERCISES_DIR) / exercise.slug / "starter"
    files: dict[str, str] = {}
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root).as_posix()
            if not path.is_file() or rel.endswith(".pyc") or _SKIP_DIRS & set(rel.split("/")):
                continue
            try:
                files[rel] = path.read_text()
            except UnicodeDecodeError:
                continue
    return files


def candidate_tasks(interview: Interview) -> list[dict[str, str]]:
    """The tasks revealed so far, with only what the candidate may read."""
    tasks = interview.exercise.tasks[: interview.revealed_tasks]
    return [_task_view(i, t) for i, t in enumerate(tasks)]


def _task_view(index: int, task: dict[str, Any]) -> dict[str, Any]:
    body = str(task.get("body", ""))
    return {
        "index": index,
        "title": str(task.get("title", "")),
        "body": body,
        "body_html": markdown_html(body),
    }


def task_for_candidate(interview: Interview, index: int) -> dict[str, Any] | None:
    """A revealed task as the candidate sees it (None if not revealed yet)."""
    interview.refresh_from_db(fields=["revealed_tasks"])
    tasks = interview.exercise.tasks
    if not 0 <= index < min(interview.revealed_tasks, len(tasks)):
        return None
    return _task_view(index, tasks[index])


def pm_script(exercise: Exercise) -> dict[str, Any]:
    """The PM's script: an intro, each task with what to say, hints, follow-ups, good answers."""
    script = exercise.manifest.get("pm_script") or {}
    if not isinstance(script, dict):
        script = {}
    by_id = {t.get("id"): t for t in script.get("tasks", []) if isinstance(t, dict)}
    listed = [t for t in script.get("tasks", []) if isinstance(t, dict)]
    tasks = []
    for i, task in enumerate(exercise.tasks):
        entry = by_id.get(task.get("id")) or (listed[i] if i < len(listed) else {})
        tasks.append({**_task_view(i, task), "script": _script_sections(entry)})
    intro, wrap_up = str(script.get("intro", "")), str(script.get("wrap_up", ""))
    return {
        "intro": intro,
        "intro_html": markdown_html(intro),
        "wrap_up": wrap_up,
        "wrap_up_html": markdown_html(wrap_up),
        "tasks": tasks,
    }


_SCRIPT_SECTIONS = [
    ("say", "Say"),
    ("hints", "Hints"),
    ("follow_ups", "Follow-ups"),
    ("good_answers", "Good answers"),
]


def _script_sections(entry: dict[str, Any]) -> list[dict[str, Any]]:
    sections = []
    for key, label in _SCRIPT_SECTIONS:
        value = entry.get(key)
        if not value:
            continue
        items = value if isinstance(value, list) else [value]
        texts = [str(v) for v in items if v]
        sections.append(
            {"label": label, "items": texts, "items_html": [markdown_html(t) for t in texts]}
        )
    return sections


def rated_criteria(exercise: Exercise) -> list[dict[str, Any]]:
    """The rubric criteria the interviewer scores, with their anchored levels."""
    rubric = exercise.manifest.get("rubric", {}) or {}
    out = []
    for criterion in rubric.get("criteria", []):
        source = criterion.get("source")
        kind = source.get("kind") if isinstance(source, dict) else source
        if kind == "automated":
            continue
        levels = criterion.get("levels", {}) or {}
        if isinstance(levels, list):
            levels = {str(i): v for i, v in enumerate(levels)}
        out.append(
            {
                "id": str(criterion.get("id", "")),
                "title": str(criterion.get("title") or criterion.get("name") or criterion["id"]),
                "description": str(criterion.get("description", "")),
                "levels": [
                    {"level": int(k), "anchor": str(v)}
                    for k, v in sorted(levels.items(), key=lambda kv: int(kv[0]))
                ],
            }
        )
    return out


# ---------------------------------------------------------------- state


def file_view(f: WorkspaceFile) -> dict[str, Any]:
    return {"path": f.path, "version": f.version, "content": f.content}


def _event_view(e: TimelineEvent) -> dict[str, Any]:
    return {"id": e.pk, "kind": e.kind, "at": e.at.isoformat(), "actor": e.actor, "data": e.data}


# What the candidate is told of the interview's state after it ended: whether it
# was graded yet, or reviewed, is the staff's business (and "graded" says when
# the hidden suite finished).
_CANDIDATE_STATE: dict[str, str] = {
    Interview.State.GRADED: "ended",
    Interview.State.REVIEWED: "ended",
}


def interview_view(interview: Interview, *, staff: bool = True) -> dict[str, Any]:
    state = interview.state if staff else _CANDIDATE_STATE.get(interview.state, interview.state)
    view: dict[str, Any] = {
        "id": interview.pk,
        "state": state,
        "candidate_name": interview.candidate_name,
        "exercise": interview.exercise.title,
        "duration_minutes": interview.duration_minutes,
        "started_at": interview.started_at.isoformat() if interview.started_at else None,
        "ended_at": interview.ended_at.isoformat() if interview.ended_at else None,
        "deadline": interview.deadline.isoformat() if interview.deadline else None,
        "revealed_tasks": interview.revealed_tasks,
        "task_count": len(interview.exercise.tasks),
        "now": timezone.now().isoformat(),
    }
    if staff:
        from grading.selectors import grading_stuck

        # Ended with nothing grading it: the console offers "Grade again".
        view["grading_stuck"] = grading_stuck(interview)
    return view


def room_state(interview: Interview, *, staff: bool) -> dict[str, Any]:
    """Everything a client needs on (re)connect, as this audience may see it."""
    from grading.selectors import runs_for, scorecard_for

    interview.refresh_from_db()
    messages = interview.events.filter(kind=TimelineEvent.Kind.MESSAGE).order_by("at", "id")
    state: dict[str, Any] = {
        "interview": interview_view(interview, staff=staff),
        "files": [file_view(f) for f in interview.files.all()],
        "tasks": candidate_tasks(interview),
        "messages": [_event_view(e) for e in messages],
        "runs": runs_for(interview, staff=staff),
        "limits": {
            "max_files": MAX_FILES,
            "max_file_bytes": MAX_FILE_BYTES,
            "max_total_bytes": MAX_TOTAL_BYTES,
        },
    }
    if staff:
        notes = interview.events.filter(kind=TimelineEvent.Kind.NOTE).order_by("at", "id")
        state["notes"] = [_event_view(e) for e in notes]
        state["pm_script"] = pm_script(interview.exercise)
        state["criteria"] = rated_criteria(interview.exercise)
        state["ratings"] = {
            r.criterion_id: {"level": r.level, "comment": r.comment}
            for r in interview.ratings.all()
        }
        state["scorecard"] = scorecard_for(interview)
        presence = _presence.get(interview.pk)
        state["presence"] = presence
        state["candidate_online"] = candidate_presence(interview.pk)
        state["joins"] = [
            {"at": e.at.isoformat(), **e.data}
            for e in interview.events.filter(kind=TimelineEvent.Kind.JOINED).order_by("at", "id")
        ]
    return state


# ---------------------------------------------------------------- workspace


def _check_path(path: Any) -> str:
    if not isinstance(path, str) or not path or len(path) > MAX_PATH_CHARS:
        raise RoomError("A file name must be 1 to 200 characters long.")
    if not _PATH_RE.match(path) or any(part in {".", ".."} for part in path.split("/")):
        raise RoomError(
            f"“{path}” is not a valid file name: use letters, digits, '.', '-', '_' and '/'."
        )
    return path


def _check_writable(path: str) -> str:
    """Refuse a path the sandbox never receives from the workspace, saying why."""
    from exercises.runner import VISIBLE_DIR

    if path.split("/", 1)[0].lower() == VISIBLE_DIR:
        raise RoomError(
            f"“{path}” was not saved: {VISIBLE_DIR}/ is Faultline's own folder (its test kit "
            "and the visible tests), replaced in every test run, so files there never reach "
            "your tests or the grader. Use another folder."
        )
    return path


def _check_live(interview: Interview) -> None:
    if interview.state != Interview.State.LIVE:
        raise RoomError("The interview is not live: changes are not saved.")


def _size_error(path: str, size: int) -> WorkspaceLimitError:
    return WorkspaceLimitError(
        f"{path} is {size // 1024} KB; the limit is {MAX_FILE_BYTES // 1024} KB per file. "
        "Your last change to it was not saved."
    )


class _Checkpoints:
    """When each file's full text last went into the timeline (per process).

    A miss (another process, a restart) only costs one extra timeline row.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[tuple[int, str], float] = {}

    def due(self, interview_id: int, path: str, force: bool) -> bool:
        key, now = (interview_id, path), time.monotonic()
        with self._lock:
            if force or now - self._last.get(key, 0.0) >= EDIT_CHECKPOINT_SECONDS:
                self._last[key] = now
                return True
            return False


_checkpoints = _Checkpoints()


@dataclass
class SavedFile:
    path: str
    version: int
    content: str


def workspace_save(
    *, interview: Interview, path: Any, base_version: Any, content: Any, checkpoint: bool = False
) -> SavedFile:
    """Store the candidate's new text of a file, if their copy was the latest one.

    Raises StaleEdit (carrying the stored file) when `base_version` is not the
    stored version, so a reconnecting tab never overwrites newer text.
    """
    path = _check_writable(_check_path(path))
    if not isinstance(content, str) or not isinstance(base_version, int):
        raise RoomError("Malformed edit.")
    size = len(content.encode())
    if size > MAX_FILE_BYTES:
        raise _size_error(path, size)
    with transaction.atomic():
        # Compare-and-set in one UPDATE (only while live, only on the version the
        # client had): two tabs racing on the same version cannot both win.
        updated = WorkspaceFile.objects.filter(
            interview=interview,
            path=path,
            version=base_version,
            interview__state=Interview.State.LIVE,
        ).update(content=content, version=F("version") + 1, updated_at=timezone.now())
        if not updated:
            _check_live(Interview.objects.only("state").get(pk=interview.pk))
            current = WorkspaceFile.objects.filter(interview=interview, path=path).first()
            raise StaleEdit(current)
        # Characters are a cheap lower bound of bytes (a UTF-8 character is at most
        # 4 bytes): count bytes exactly only when the total could be near the limit.
        chars = interview.files.aggregate(n=Sum(Length("content")))["n"] or 0
        if chars * 4 > MAX_TOTAL_BYTES:
            contents = interview.files.values_list("content", flat=True)
            total = sum(len(c.encode()) for c in contents)
            if total > MAX_TOTAL_BYTES:
                transaction.set_rollback(True)
                raise WorkspaceLimitError(
                    f"Your files would total {total // 1024} KB; the limit is "
                    f"{MAX_TOTAL_BYTES // 1024} KB. The last change was not saved."
                )
        version = base_version + 1
        workspace_changed(interview.pk)  # the live preview restarts the app
        if _checkpoints.due(interview.pk, path, checkpoint):
            events.record(
                interview,
                TimelineEvent.Kind.EDIT,
                actor="candidate",
                data={"path": path, "version": version, "content": content},
                notify=False,
            )
    return SavedFile(path=path, version=version, content=content)


def workspace_create(*, interview: Interview, path: Any) -> SavedFile:
    path = _check_writable(_check_path(path))
    with transaction.atomic():
        _check_live(Interview.objects.only("state").get(pk=interview.pk))
        if interview.files.filter(path=path).exists():
            raise RoomError(f"{path} already exists.")
        # A file may not share its name with a folder: "app" and "app/main.py".
        for other in interview.files.values_list("path", flat=True):
            if other.startswith(path + "/") or path.startswith(other + "/"):
                raise RoomError(f"{path} clashes with {other}.")
        count = interview.files.count()
        if count >= MAX_FILES:
            raise WorkspaceLimitError(
                f"You already have {count} files; the limit is {MAX_FILES}. "
                "Delete one before creating another."
            )
        f = WorkspaceFile.objects.create(interview=interview, path=path, content="")
        workspace_changed(interview.pk)
        events.record(
            interview,
            TimelineEvent.Kind.FILE_CREATED,
            actor="candidate",
            data={"path": path},
            notify=False,
        )
    return SavedFile(path=f.path, version=f.version, content="")


def workspace_delete(*, interview: Interview, path: Any) -> str:
    path = _check_path(path)
    with transaction.atomic():
        _check_live(Interview.objects.only("state").get(pk=interview.pk))
        deleted, _ = interview.files.filter(path=path).delete()
        if not deleted:
            raise RoomError(f"{path} does not exist.")
        workspace_changed(interview.pk)
        events.record(
            interview,
            TimelineEvent.Kind.FILE_DELETED,
            actor="candidate",
            data={"path": path},
            notify=False,
        )
    return path


# ---------------------------------------------------------------- presence


class _Presence:
    """Which file the candidate is in, per interview (in memory: it is only a hint)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_interview: dict[int, dict[str, Any]] = {}

    def set(self, interview_id: int, path: str, line: int | None) -> dict[str, Any]:
        value = {"path": path, "line": line, "at": timezone.now().isoformat()}
        with self._lock:
            self._by_interview[interview_id] = value
        return value

    def get(self, interview_id: int) -> dict[str, Any] | None:
        with self._lock:
            return self._by_interview.get(interview_id)


_presence = _Presence()


def presence_set(*, interview: Interview, path: Any, line: Any) -> dict[str, Any]:
    path = _check_path(path)
    return _presence.set(interview.pk, path, line if isinstance(line, int) else None)


# A socket not heard from for this long no longer counts as the candidate being
# there: its process died (a server restart, a crash) without closing it. The
# room pings every 2 s and any message refreshes the mark, at most every
# SEEN_REFRESH_SECONDS so that typing and pinging cost no extra writes.
CONNECTION_STALE_SECONDS = 40
SEEN_REFRESH_SECONDS = 10
# How often a console's pings recount the tabs (a read per console, not per ping).
PRESENCE_RECOUNT_SECONDS = 10


def _process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _process_is_gone(holder: str) -> bool:
    """True when `holder` was a process of this machine that no longer runs."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's: only its seen_at can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def candidate_presence(interview_id: int) -> dict[str, Any]:
    """Whether the candidate is in the room: their open tabs and browsers, stale ones dropped."""
    fresh_after = timezone.now() - timedelta(seconds=CONNECTION_STALE_SECONDS)
    rows = CandidateConnection.objects.filter(interview_id=interview_id)
    stale = [r.pk for r in rows if r.seen_at < fresh_after or _process_is_gone(r.holder)]
    if stale:
        CandidateConnection.objects.filter(pk__in=stale).delete()
    live = [r for r in rows if r.pk not in stale]
    return {
        "online": bool(live),
        "tabs": len(live),
        "browsers": len({r.device for r in live}),
    }


def connection_open(*, interview: Interview, channel_name: str, device: str) -> dict[str, Any]:
    """A candidate tab connected; returns the presence it makes."""
    now = timezone.now()
    CandidateConnection.objects.update_or_create(
        channel_name=channel_name,
        defaults={
            "interview": interview,
            "device": device,
            "holder": _process(),
            "connected_at": now,
            "seen_at": now,
        },
    )
    return candidate_presence(interview.pk)


def connection_seen(*, interview: Interview, channel_name: str, device: str) -> bool:
    """The tab was heard from. True when it had been given up on and counts again."""
    now = timezone.now()
    if CandidateConnection.objects.filter(channel_name=channel_name).update(seen_at=now):
        return False
    # Dropped as stale while it was quiet (a laptop asleep), yet it is still here.
    CandidateConnection.objects.create(
        interview=interview, channel_name=channel_name, device=device, holder=_process()
    )
    return True


def connection_close(*, interview: Interview, channel_name: str) -> dict[str, Any]:
    """A candidate tab went away; returns the presence that is left."""
    CandidateConnection.objects.filter(channel_name=channel_name).delete()
    return candidate_presence(interview.pk)


_BROWSERS = [
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
]
_SYSTEMS = [
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
]


def browser_label(user_agent: str) -> str:
    """'Firefox on Windows': enough for an interviewer to tell two browsers apart."""
    name = next((label for key, label in _BROWSERS if key in user_agent), "a browser")
    system = next((label for key, label in _SYSTEMS if key in user_agent), "")
    return f"{name} on {system}" if system else name


# ---------------------------------------------------------------- talk


def _clean_text(text: Any, limit: int, what: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise RoomError(f"An empty {what} was not sent.")
    if len(text) > limit:
        raise RoomError(f"A {what} can be at most {limit} characters long.")
    return text.strip()


def message_send(*, interview: Interview, text: Any, actor: str, role: str) -> TimelineEvent:
    """A chat message between the candidate and the PM; everyone in the room sees it."""
    text = _clean_text(text, MAX_MESSAGE_CHARS, "message")
    if interview.state not in {Interview.State.SCHEDULED, Interview.State.LIVE}:
        raise RoomError("The interview has ended; the chat is closed.")
    return events.record(
        interview, TimelineEvent.Kind.MESSAGE, actor=actor, data={"text": text, "role": role}
    )


def note_add(*, interview: Interview, text: Any, author: str) -> TimelineEvent:
    """A private interviewer note, timestamped; it goes to the staff group only."""
    text = _clean_text(text, MAX_NOTE_CHARS, "note")
    started = interview.started_at
    offset = int((timezone.now() - started).total_seconds()) if started else None
    return events.record(
        interview,
        TimelineEvent.Kind.NOTE,
        actor=author,
        data={"text": text, "offset_seconds": offset},
        audience=TimelineEvent.Audience.STAFF,
    )


# ---------------------------------------------------------------- dashboard


def dashboard_lists(user: User) -> dict[str, list[Interview]]:
    """The interviewer's interviews: upcoming, live and past (with their invites)."""
    mine = (
        Interview.objects.filter(interviewers=user)
        .select_related("exercise")
        .prefetch_related("invites")
    )
    return {
        "upcoming": list(mine.filter(state=Interview.State.SCHEDULED).order_by("scheduled_at")),
        "live": list(mine.filter(state=Interview.State.LIVE).order_by("started_at")),
        "past": list(
            mine.exclude(state__in=[Interview.State.SCHEDULED, Interview.State.LIVE]).order_by(
                "-ended_at", "-scheduled_at"
            )[:50]
        ),
    }
