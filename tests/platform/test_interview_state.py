"""The interview state machine and invite links."""

from datetime import timedelta

import pytest
from django.utils import timezone

from interviews import services
from interviews.models import CandidateInvite, Exercise, IllegalTransition, Interview


@pytest.fixture
def exercise(db: None) -> Exercise:
    return Exercise.objects.create(
        slug="demo", title="Demo", version_hash="v1", manifest={"tasks": [{"title": "one"}]}
    )


@pytest.fixture
def interview_and_token(exercise: Exercise, personas: dict) -> tuple[Interview, str]:
    return services.interview_create(
        exercise=exercise,
        candidate_name="Cara",
        candidate_email="cara@example.com",
        interviewers=[personas["interviewer"]],
        created_by=personas["interviewer"],
        starter_files={"app/main.py": "print('hi')\n"},
    )


def test_lifecycle_follows_the_state_machine(interview_and_token: tuple[Interview, str]) -> None:
    interview, _ = interview_and_token
    assert interview.state == "scheduled"
    with pytest.raises(IllegalTransition, match="from scheduled to ended"):
        interview.transition(Interview.State.ENDED)
    interview.transition(Interview.State.LIVE)
    assert interview.started_at is not None
    with pytest.raises(IllegalTransition):
        interview.transition(Interview.State.LIVE)
    interview.transition(Interview.State.ENDED)
    interview.refresh_from_db()
    assert interview.state == "ended" and interview.ended_at is not None
    with pytest.raises(IllegalTransition):
        interview.transition(Interview.State.REVIEWED)


def test_invite_token_is_stored_hashed_and_opens_its_interview(
    interview_and_token: tuple[Interview, str],
) -> None:
    interview, token = interview_and_token
    assert not CandidateInvite.objects.filter(token_hash=token).exists()
    assert services.invite_redeem(token=token) == interview
    assert interview.events.filter(kind="joined").count() == 1


def test_expired_revoked_and_unknown_invites_say_why(
    interview_and_token: tuple[Interview, str],
) -> None:
    interview, token = interview_and_token
    with pytest.raises(services.InviteError, match="not valid"):
        services.invite_redeem(token=token + "x")
    CandidateInvite.objects.filter(interview=interview).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    with pytest.raises(services.InviteError, match="expired"):
        services.invite_redeem(token=token)
    new_token = services.invite_reissue(interview=interview)
    assert services.invite_redeem(token=new_token) == interview
    services.invite_revoke(interview=interview)
    with pytest.raises(services.InviteError, match="revoked"):
        services.invite_redeem(token=new_token)


def test_tasks_are_revealed_in_order_and_stop_at_the_last(
    interview_and_token: tuple[Interview, str],
) -> None:
    interview, _ = interview_and_token
    task = services.task_reveal_next(interview=interview, actor="ivy")
    assert task == {"title": "one"}
    assert services.task_reveal_next(interview=interview, actor="ivy") is None
    assert interview.events.filter(kind="task_revealed").count() == 1


def test_workspace_limits_name_the_limit() -> None:
    with pytest.raises(services.WorkspaceLimitError, match="too many files"):
        services.workspace_check({f"f{i}.py": "" for i in range(services.MAX_FILES + 1)})
    with pytest.raises(services.WorkspaceLimitError, match=r"big\.py is"):
        services.workspace_check({"big.py": "x" * (services.MAX_FILE_BYTES + 1)})
