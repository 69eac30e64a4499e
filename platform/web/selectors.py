"""Reads of the live room and the dashboard: what each audience is shown, as JSON-ready dicts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from grading.selectors import grading_stuck, runs_for, scorecard_for
from interviews.exercise_markdown import markdown_html
from interviews.exercises import starter_files as catalog_starter_files
from interviews.models import Exercise, Interview, TimelineEvent, WorkspaceFile
from interviews.workspace import MAX_FILE_BYTES, MAX_FILES, MAX_TOTAL_BYTES
from web.presence import candidate_presence, presence_of

# Tool caches an author's checkout may hold; never part of a starter project.
_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules", ".venv"}


# ---------------------------------------------------------------- exercises


def starter_files(exercise: Exercise) -> dict[str, str]:
    """The exercise's starter project, as the exercise catalog gives it."""
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
    rubric = exercise.rubric
    if rubric is None:
        return []
    return [
        {
            "id": c.id,
            "title": c.title,
            "description": c.description,
            "levels": [{"level": k, "anchor": v} for k, v in sorted(c.levels.items())],
        }
        for c in rubric.criteria
        if not c.automated
    ]


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
        # Ended with nothing grading it: the console offers "Grade again".
        view["grading_stuck"] = grading_stuck(interview)
    return view


def interview_view_of(interview_id: int, *, staff: bool) -> dict[str, Any]:
    """interview_view of the stored interview (a broadcast's view of the state it changed)."""
    interview = Interview.objects.select_related("exercise").get(pk=interview_id)
    return interview_view(interview, staff=staff)


def room_state(interview: Interview, *, staff: bool) -> dict[str, Any]:
    """Everything a client needs on (re)connect, as this audience may see it."""
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
        state["presence"] = presence_of(interview.pk)
        state["candidate_online"] = candidate_presence(interview.pk)
        state["joins"] = [
            {"at": e.at.isoformat(), **e.data}
            for e in interview.events.filter(kind=TimelineEvent.Kind.JOINED).order_by("at", "id")
        ]
    return state


# ---------------------------------------------------------------- dashboard


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
