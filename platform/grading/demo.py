"""Demo data for `make run`: a scheduled interview with a live invite, and graded interviews.

In grading: it grades what it seeds, and only a layer may import what is below it.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User

from grading import services as grading_services
from interviews import events, services
from interviews.exercises import starter_files
from interviews.models import (
    CandidateInvite,
    Exercise,
    Interview,
    TimelineEvent,
    WorkspaceFile,
    hash_token,
)

DEMO_TOKEN_FILE = "demo-invite-token"  # noqa: S105  # a file name, not a secret


def _schedule(
    exercise: Exercise, interviewer: User, name: str, email: str
) -> tuple[Interview, str]:
    return services.interview_create(
        exercise=exercise,
        candidate_name=name,
        candidate_email=email,
        interviewers=[interviewer],
        created_by=interviewer,
        starter_files=starter_files(exercise.slug),
    )


def demo_interview_link(exercise: Exercise, interviewer: User, candidate: tuple[str, str]) -> str:
    """The invite path of the demo interview, creating the interview or a new invite if needed.

    The raw token is never in the database; the demo keeps it in var/ so the
    same link keeps working across restarts.
    """
    name, email = candidate
    token_file = Path(settings.VAR_DIR) / DEMO_TOKEN_FILE
    interview = Interview.objects.filter(candidate_email=email, exercise=exercise).first()
    if interview is None:
        interview, token = _schedule(exercise, interviewer, name, email)
        token_file.write_text(token)
        return f"/i/{token}"
    token = token_file.read_text().strip() if token_file.exists() else ""
    invite = CandidateInvite.objects.filter(token_hash=hash_token(token)).first() if token else None
    if invite is None or invite.interview_id != interview.pk or not invite.is_usable:
        token = services.invite_reissue(interview=interview)
        token_file.write_text(token)
    return f"/i/{token}"


def grade_demo_interviews(
    exercise: Exercise, interviewer: User, people: list[tuple[str, str, str]]
) -> list[str]:
    """Interviews that went through the real pipeline: live, submitted, ended, graded.

    `people` holds (name, email, source) where source is "solution" or "mutant"
    (the exercise's first known-wrong variant), so the review has a strong and a
    flawed candidate to compare.
    """
    from exercises import catalog
    from grading import queue

    spec = catalog.find(exercise.slug, Path(settings.EXERCISES_DIR))
    results = []
    for name, email, source in people:
        interview = Interview.objects.filter(candidate_email=email, exercise=exercise).first()
        if interview is not None and interview.state in {"graded", "reviewed"}:
            results.append(f"{name}: {interview.state}")
            continue
        if interview is None:
            interview, _ = _schedule(exercise, interviewer, name, email)
        if source == "solution" or not spec.mutants:
            files = spec.solution_files()
        else:
            files = spec.mutant_files(spec.mutants[0].name)
        if interview.state == Interview.State.SCHEDULED:
            services.interview_start(interview=interview, actor=interviewer.username)
        current = services.workspace_files(interview)
        for path, data in sorted(files.items()):
            text = data.decode("utf-8")
            if current.get(path) == text:
                continue
            row, _ = WorkspaceFile.objects.update_or_create(
                interview=interview, path=path, defaults={"content": text}
            )
            # As the room records typing, so the replay shows the code changing.
            events.record(
                interview,
                TimelineEvent.Kind.EDIT,
                actor="candidate",
                data={"path": path, "version": row.version, "content": text},
                notify=False,
            )
        if interview.state == Interview.State.LIVE:
            grading_services.interview_end(interview=interview, actor=interviewer.username)
        else:
            grading_services.grading_request(interview=interview, requested_by=interviewer.username)
        queue.wait_idle()
        interview.refresh_from_db()
        results.append(f"{name}: {interview.state}")
    return results
