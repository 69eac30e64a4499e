"""Writes of the live room: workspace edits, chat, notes, test runs, submissions, ratings.

The consumers call these (and web.selectors, web.presence) through
`database_sync_to_async`; the consumer module itself makes no ORM calls.
Who may call them is web.access's business.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import Length
from django.utils import timezone

from exercises.runner import VISIBLE_DIR
from grading.progress import run_view, submission_view
from grading.services import grading_request, grading_retry, rating_set, visible_run_request
from interviews import events
from interviews.models import Interview, TimelineEvent, WorkspaceFile
from interviews.workspace import (
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_TOTAL_BYTES,
    WorkspaceLimitError,
    workspace_changed,
)

MAX_MESSAGE_CHARS = 4000
MAX_NOTE_CHARS = 8000
MAX_PATH_CHARS = 200
# The timeline keeps the full text of a file at most this often while the
# candidate types (plus at every checkpoint the client asks for: blur, run,
# idle), so replay can rebuild the code without one row per keystroke.
EDIT_CHECKPOINT_SECONDS = 2.0

_PATH_RE = re.compile(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")


class RoomError(Exception):
    """A request from the room was refused; the message is for the person who sent it."""


class StaleEdit(RoomError):
    """An edit was based on an older version of the file than the one stored."""

    def __init__(self, current: WorkspaceFile | None) -> None:
        super().__init__("This file changed since your copy of it; reloaded the newer text.")
        self.current = current


# ---------------------------------------------------------------- workspace


def check_path(path: Any) -> str:
    if not isinstance(path, str) or not path or len(path) > MAX_PATH_CHARS:
        raise RoomError("A file name must be 1 to 200 characters long.")
    if not _PATH_RE.match(path) or any(part in {".", ".."} for part in path.split("/")):
        raise RoomError(
            f"“{path}” is not a valid file name: use letters, digits, '.', '-', '_' and '/'."
        )
    return path


def _check_writable(path: str) -> str:
    """Refuse a path the sandbox never receives from the workspace, saying why."""
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
    path = _check_writable(check_path(path))
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


def _file_event(interview: Interview, kind: str, path: str) -> None:
    """A file was created or deleted: the preview restarts the app, the timeline records it."""
    workspace_changed(interview.pk)
    events.record(interview, kind, actor="candidate", data={"path": path}, notify=False)


def workspace_create(*, interview: Interview, path: Any) -> SavedFile:
    path = _check_writable(check_path(path))
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
        _file_event(interview, TimelineEvent.Kind.FILE_CREATED, path)
    return SavedFile(path=f.path, version=f.version, content="")


def workspace_delete(*, interview: Interview, path: Any) -> str:
    path = check_path(path)
    with transaction.atomic():
        _check_live(Interview.objects.only("state").get(pk=interview.pk))
        deleted, _ = interview.files.filter(path=path).delete()
        if not deleted:
            raise RoomError(f"{path} does not exist.")
        _file_event(interview, TimelineEvent.Kind.FILE_DELETED, path)
    return path


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


# ---------------------------------------------------------------- runs and ratings


def visible_run_start(*, interview: Interview) -> dict[str, Any]:
    """The candidate's Run: the visible tests over the workspace, while live."""
    interview.refresh_from_db(fields=["state"])
    if interview.state != Interview.State.LIVE:
        raise RoomError("Tests can be run only while the interview is live.")
    run = visible_run_request(interview=interview, requested_by="candidate")
    return run_view(run, staff=False)


def submission_create(*, interview: Interview) -> dict[str, Any]:
    """The candidate's Submit: the hidden suite grades the workspace, while live."""
    interview.refresh_from_db(fields=["state"])
    if interview.state != Interview.State.LIVE:
        raise RoomError("You can submit only while the interview is live.")
    run = grading_request(interview=interview, requested_by="candidate")
    # Code submitted before comes back as the run that graded it: never its state.
    return submission_view(run)


def grading_again(*, interview: Interview, actor: str) -> dict[str, Any]:
    """The console's "Grade again" for an ended interview nothing is grading."""
    run = grading_retry(interview=interview, requested_by=actor)
    return run_view(run, staff=True)


def rating_record(
    *, interview: Interview, criterion_id: str, level: int, comment: str, user_id: int
) -> None:
    user = get_user_model().objects.filter(pk=user_id).first()
    rating_set(
        interview=interview, criterion_id=criterion_id, level=level, comment=comment, rated_by=user
    )
