"""Workflows on interviews. Views and consumers call these; they never touch models directly."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from interviews import events
from interviews.models import (
    CandidateInvite,
    Exercise,
    Interview,
    TimelineEvent,
    WorkspaceFile,
    hash_token,
)
from interviews.workspace import (  # noqa: F401  # the room's and tests' names for them
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_TOTAL_BYTES,
    WorkspaceLimitError,
    workspace_check,
    workspace_files,
)


class InviteError(Exception):
    """An invite token cannot be used; the message is for the person holding it."""


def interview_create(
    *,
    exercise: Exercise,
    candidate_name: str,
    candidate_email: str,
    interviewers: Iterable[User],
    created_by: User | None,
    scheduled_at: datetime | None = None,
    duration_minutes: int | None = None,
    starter_files: Mapping[str, str],
    invite_ttl: timedelta | None = None,
) -> tuple[Interview, str]:
    """Schedule an interview with its workspace and an invite; returns it and the raw token."""
    with transaction.atomic():
        interview = Interview.objects.create(
            exercise=exercise,
            exercise_version=exercise.version_hash,
            candidate_name=candidate_name,
            candidate_email=candidate_email,
            created_by=created_by,
            scheduled_at=scheduled_at or timezone.now(),
            duration_minutes=duration_minutes or exercise.time_box_minutes,
        )
        interview.interviewers.set(list(interviewers))
        WorkspaceFile.objects.bulk_create(
            WorkspaceFile(interview=interview, path=path, content=content)
            for path, content in sorted(starter_files.items())
        )
        _, token = CandidateInvite.issue(interview, ttl=invite_ttl)
        events.record(
            interview,
            TimelineEvent.Kind.CREATED,
            actor=getattr(created_by, "username", ""),
            data={"exercise": exercise.slug},
        )
    return interview, token


def invite_reissue(*, interview: Interview, ttl: timedelta | None = None) -> str:
    """Revoke every live invite of the interview and issue a new one; returns the raw token."""
    with transaction.atomic():
        interview.invites.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        _, token = CandidateInvite.issue(interview, ttl=ttl)
    return token


def invite_revoke(*, interview: Interview) -> int:
    """Revoke the interview's live invites; a candidate in the room is told at once."""
    with transaction.atomic():
        revoked = interview.invites.filter(revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            # The candidate's socket re-checks its invite on this event and closes.
            events.broadcast(interview.pk, {"kind": "invite_revoked"}, audience="all")
    return revoked


def invite_redeem(*, token: str, device: str = "", browser: str = "") -> Interview:
    """Open the interview of an invite token in browser `device`, or InviteError saying why not.

    The interview is open in one browser at a time: joining from another one
    takes it over (see candidate_join).
    """
    invite = (
        CandidateInvite.objects.select_related("interview", "interview__exercise")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invite is None:
        raise InviteError("This invite link is not valid. Check that you copied all of it.")
    problem = invite.problem()
    if problem:
        raise InviteError(problem)
    if invite.redeemed_at is None:
        CandidateInvite.objects.filter(pk=invite.pk).update(redeemed_at=timezone.now())
    candidate_join(interview=invite.interview, device=device, browser=browser)
    return invite.interview


def candidate_device(interview: Interview) -> str | None:
    """The browser the interview is open in: the device of its latest join (None before any).

    "" for a join recorded before devices were (any browser may use it).
    """
    data = (
        interview.events.filter(kind=TimelineEvent.Kind.JOINED)
        .order_by("-at", "-id")
        .values_list("data", flat=True)
        .first()
    )
    if data is None:
        return None
    device = data.get("device") if isinstance(data, dict) else None
    return device if isinstance(device, str) else ""


def candidate_device_is_current(interview: Interview, device: Any) -> bool:
    current = candidate_device(interview)
    return not current or current == device


def candidate_join(*, interview: Interview, device: str, browser: str) -> TimelineEvent | None:
    """Open the interview in browser `device`; the browser it was open in stops editing.

    Two browsers editing one workspace overwrite each other, so the newest one
    takes over: the join goes into the timeline (the console and the replay show
    it) and the older browser's socket is closed with a way to take it back.
    None when the interview is already open in this browser.
    """
    with transaction.atomic():
        # One join at a time per interview: two browsers joining at once must
        # not both believe they hold it.
        locked = Interview.objects.select_for_update().get(pk=interview.pk)
        current = candidate_device(locked)
        if current is not None and current == device:
            return None
        earlier = {
            d.get("device")
            for d in locked.events.filter(kind=TimelineEvent.Kind.JOINED).values_list(
                "data", flat=True
            )
            if isinstance(d, dict)
        }
        return events.record(
            locked,
            TimelineEvent.Kind.JOINED,
            actor="candidate",
            data={
                "device": device,
                "browser": browser[:80],
                "took_over": current is not None,
                "returned": bool(device) and device in earlier,
            },
        )


def interview_start(*, interview: Interview, actor: str) -> Interview:
    interview = interview.transition(Interview.State.LIVE)
    events.record(interview, TimelineEvent.Kind.STARTED, actor=actor)
    return interview


def task_reveal_next(*, interview: Interview, actor: str) -> dict[str, Any] | None:
    """Reveal the exercise's next task to the candidate; None when all are revealed."""
    with transaction.atomic():
        locked = Interview.objects.select_for_update().get(pk=interview.pk)
        tasks = locked.exercise.tasks
        if locked.revealed_tasks >= len(tasks):
            return None
        task = tasks[locked.revealed_tasks]
        locked.revealed_tasks += 1
        locked.save(update_fields=["revealed_tasks"])
        events.record(
            locked,
            TimelineEvent.Kind.TASK_REVEALED,
            actor=actor,
            data={"index": locked.revealed_tasks - 1, "title": task.get("title", "")},
        )
    interview.revealed_tasks = locked.revealed_tasks
    return task
