"""The live preview's workflows: who may see it, what goes on the timeline, switching faults."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User

import sandbox.live as sandbox_live
from interviews import events
from interviews import services as interview_services
from interviews.models import Interview, TimelineEvent
from preview.tokens import Viewer, label_for
from web import access as web_access
from web import services as web_services

# App states that go on the timeline (starting and retrying are the log's, not history's).
RECORDED_STATES = {"running", "crashed", "failed", "gave-up", "stopped"}


def workspace_bytes(interview_id: int) -> dict[str, bytes]:
    interview = Interview.objects.get(pk=interview_id)
    return {p: c.encode() for p, c in interview_services.workspace_files(interview).items()}


def exercise_slug(interview_id: int) -> str:
    return str(Interview.objects.select_related("exercise").get(pk=interview_id).exercise.slug)


def interview_is_live(interview_id: int) -> bool:
    return Interview.objects.filter(pk=interview_id, state=Interview.State.LIVE).exists()


def live_event_record(interview_id: int, event: sandbox_live.LiveEvent) -> None:
    if event.kind not in RECORDED_STATES:
        return
    interview = Interview.objects.filter(pk=interview_id).first()
    if interview is None:
        return
    events.record(
        interview,
        TimelineEvent.Kind.LIVE,
        actor="preview",
        data={"state": event.kind, "detail": event.detail[:2000], "generation": event.generation},
    )


def viewer_interview(viewer: Viewer) -> Interview | None:
    """The live interview `viewer` may preview now, else None (revoked, removed, ended)."""
    if viewer.invite_id is not None:
        interview = web_access.candidate_interview(viewer.invite_id)
    else:
        user = User.objects.filter(pk=viewer.user_id or 0, is_active=True).first()
        interview = web_access.staff_interview(user or AnonymousUser(), viewer.interview_id)
    if interview is None or interview.pk != viewer.interview_id:
        return None
    return interview if interview.state == Interview.State.LIVE else None


def preview_origin(viewer: Viewer) -> str:
    """The origin `viewer` sees the interview's app at (no path, no trailing slash)."""
    scheme, _, host = settings.PREVIEW_ORIGIN.partition("://")
    return f"{scheme}://{label_for(viewer)}.{host}"


def scenario_switch(
    *, interview: Interview, name: str, actor: str, tell_candidate: bool
) -> dict[str, Any]:
    """Switch the live provider's scenario; on the timeline (the candidate's too if told)."""
    from preview.manager import manager

    live = manager().ensure(interview.pk)
    state = live.switchboard.switch(name)
    described = {s["name"]: s["description"] for s in state["scenarios"]}
    events.record(
        interview,
        TimelineEvent.Kind.FAULT,
        actor=actor,
        data={
            "scenario": name,
            "description": described.get(name, ""),
            "told_candidate": tell_candidate,
        },
        audience=TimelineEvent.Audience.ALL if tell_candidate else TimelineEvent.Audience.STAFF,
    )
    return state


def terminal_file_save(interview_id: int, path: str, content: bytes) -> bool:
    """A file the shell wrote, into the workspace (with the editor's limits) and to the
    room's editors; False when it cannot be a workspace file (not text, refused path)."""
    from web.services import RoomError

    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if "\0" in text:
        return False
    interview = Interview.objects.filter(pk=interview_id, state=Interview.State.LIVE).first()
    if interview is None:
        return False
    try:
        current = interview.files.filter(path=path).first()
        if current is None:
            current_version = web_services.workspace_create(interview=interview, path=path).version
        else:
            current_version = current.version
        saved = web_services.workspace_save(
            interview=interview, path=path, base_version=current_version, content=text
        )
    except (RoomError, ValueError):
        return False
    events.broadcast(
        interview_id,
        {"kind": "file", "path": saved.path, "version": saved.version, "content": saved.content},
    )
    return True


def terminal_file_delete(interview_id: int, path: str) -> bool:
    """A file the shell deleted, out of the workspace and the room's editors."""
    from web.services import RoomError

    interview = Interview.objects.filter(pk=interview_id, state=Interview.State.LIVE).first()
    if interview is None:
        return False
    try:
        web_services.workspace_delete(interview=interview, path=path)
    except (RoomError, ValueError):
        return False
    events.broadcast(interview_id, {"kind": "file_deleted", "path": path})
    return True
