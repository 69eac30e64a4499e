"""Who may open which page: every view, with every persona, the outsider included."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from interviews.models import CandidateInvite, Exercise, Interview
from tests.web.conftest import candidate_client, client_for

pytestmark = pytest.mark.django_db

STAFF = ["anonymous", "outsider", "hiring_manager", "other_interviewer", "interviewer"]


@pytest.fixture
def clients(
    personas: dict[str, Any], other_interviewer: Any, interview_and_token: tuple[Interview, str]
) -> dict[str, Client]:
    _, token = interview_and_token
    return {
        "anonymous": client_for(None),
        "outsider": client_for(personas["outsider"]),
        "hiring_manager": client_for(personas["hiring_manager"]),
        "other_interviewer": client_for(other_interviewer),
        "interviewer": client_for(personas["interviewer"]),
        "candidate": candidate_client(token),
    }


def _is_login_redirect(response: Any) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", "/accounts/login/"),
        ("outsider", 403),
        ("hiring_manager", "/review/"),
        ("interviewer", "/interviews/"),
        ("candidate", "/room/"),
    ],
)
def test_home_sends_each_persona_to_their_place(
    clients: dict[str, Client], who: str, expected: Any
) -> None:
    response = clients[who].get("/")
    if isinstance(expected, int):
        assert response.status_code == expected
    else:
        assert response.status_code == 302 and response["Location"] == expected


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", "login"),
        ("candidate", "login"),
        ("outsider", 403),
        ("hiring_manager", 403),
        ("other_interviewer", 200),
        ("interviewer", 200),
    ],
)
def test_dashboard_is_for_interviewers_and_lists_only_their_interviews(
    clients: dict[str, Client], who: str, expected: Any
) -> None:
    response = clients[who].get("/interviews/")
    if expected == "login":
        assert _is_login_redirect(response)
        return
    assert response.status_code == expected
    if expected == 200:
        listed = b"cara@example.com" in response.content
        assert listed == (who == "interviewer")


def test_the_dashboard_marks_an_ended_interview_nothing_grades(
    clients: dict[str, Client], interview_and_token: tuple[Interview, str]
) -> None:
    interview, _ = interview_and_token
    Interview.objects.filter(pk=interview.pk).update(state=Interview.State.ENDED)
    page = clients["interviewer"].get("/interviews/").content.decode()
    assert 'data-testid="grading-stuck"' in page
    assert "grade again in the console" in page
    other = clients["other_interviewer"].get("/interviews/").content.decode()
    assert 'data-testid="grading-stuck"' not in other


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", "login"),
        ("candidate", "login"),
        ("outsider", 403),
        ("hiring_manager", 403),
        ("interviewer", 302),
    ],
)
def test_only_interviewers_can_schedule(
    clients: dict[str, Client], exercise: Exercise, who: str, expected: Any
) -> None:
    before = Interview.objects.count()
    response = clients[who].post(
        "/interviews/schedule",
        {
            "exercise": exercise.pk,
            "candidate_name": "Dan",
            "candidate_email": "dan@example.com",
            "duration_minutes": "45",
        },
    )
    if expected == "login":
        assert _is_login_redirect(response)
    else:
        assert response.status_code == expected
    created = Interview.objects.count() - before
    assert created == (1 if who == "interviewer" else 0)
    if created:
        interview = Interview.objects.get(candidate_name="Dan")
        assert interview.duration_minutes == 45
        assert set(interview.files.values_list("path", flat=True)) == set()  # no catalog folder
        # The invite link is shown to the interviewer who scheduled it, and works.
        page = clients[who].get(response["Location"])
        rows = [row for _, _, rows in page.context["sections"] for row in rows]
        link = next(link for i, link, _ in rows if i.pk == interview.pk)
        assert link and "/i/" in link
        assert Client().get(link.split("testserver", 1)[1]).status_code == 200


def test_schedule_form_errors_are_shown(clients: dict[str, Client], exercise: Exercise) -> None:
    response = clients["interviewer"].post(
        "/interviews/schedule",
        {"exercise": exercise.pk, "candidate_name": "", "candidate_email": "x"},
    )
    assert response.status_code == 400
    assert b"Enter a valid email address" in response.content


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", "login"),
        ("candidate", "login"),
        ("outsider", 403),
        ("hiring_manager", 403),
        ("other_interviewer", 404),
        ("interviewer", 200),
    ],
)
def test_console_opens_only_for_the_interviews_own_interviewers(
    clients: dict[str, Client],
    interview_and_token: tuple[Interview, str],
    who: str,
    expected: Any,
) -> None:
    interview, _ = interview_and_token
    response = clients[who].get(f"/interviews/{interview.pk}/")
    if expected == "login":
        assert _is_login_redirect(response)
    else:
        assert response.status_code == expected
        if expected == 200:
            assert f"/ws/console/{interview.pk}/".encode() in response.content


@pytest.mark.parametrize("action", ["reissue", "revoke"])
@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", "login"),
        ("candidate", "login"),
        ("outsider", 403),
        ("hiring_manager", 403),
        ("other_interviewer", 404),
        ("interviewer", 302),
    ],
)
def test_invite_links_are_managed_only_by_the_interviews_interviewers(
    clients: dict[str, Client],
    interview_and_token: tuple[Interview, str],
    action: str,
    who: str,
    expected: Any,
) -> None:
    interview, token = interview_and_token
    response = clients[who].post(f"/interviews/{interview.pk}/invite/{action}")
    if expected == "login":
        assert _is_login_redirect(response)
    else:
        assert response.status_code == expected
    old_link = Client().get(f"/i/{token}")
    if who == "interviewer":
        assert old_link.status_code == 410
        assert b"revoked" in old_link.content
        # The candidate who joined with the old link is shut out of the room too.
        assert clients["candidate"].get("/room/").status_code == 403
    else:
        assert old_link.status_code == 200
        assert clients["candidate"].get("/room/").status_code == 200
    live = CandidateInvite.objects.filter(interview=interview, revoked_at__isnull=True).count()
    assert live == (0 if who == "interviewer" and action == "revoke" else 1)


def test_invite_get_shows_a_page_and_post_joins_without_the_token_in_the_url(
    interview_and_token: tuple[Interview, str],
) -> None:
    interview, token = interview_and_token
    client = Client()
    page = client.get(f"/i/{token}")
    assert page.status_code == 200 and b"Join the interview" in page.content
    # A link preview (GET) must not use the invite up.
    assert not CandidateInvite.objects.filter(redeemed_at__isnull=False).exists()
    joined = client.post(f"/i/{token}")
    assert joined.status_code == 302 and joined["Location"] == "/room/"
    room = client.get("/room/")
    assert room.status_code == 200
    assert token.encode() not in room.content
    assert interview.events.filter(kind="joined").count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_invite_errors_say_what_is_wrong(
    interview_and_token: tuple[Interview, str], method: str
) -> None:
    interview, token = interview_and_token
    client = Client()
    invalid = getattr(client, method)(f"/i/{token}x")
    assert invalid.status_code == 404 and b"not valid" in invalid.content
    CandidateInvite.objects.filter(interview=interview).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    expired = getattr(client, method)(f"/i/{token}")
    assert expired.status_code == 410 and b"expired" in expired.content
    assert client.get("/room/").status_code == 403


@pytest.mark.parametrize("who", [*STAFF])
def test_the_room_is_only_for_the_candidate(clients: dict[str, Client], who: str) -> None:
    response = clients[who].get("/room/")
    assert response.status_code == 403
    assert b"invite link" in response.content


def test_names_are_escaped_on_the_dashboard(
    clients: dict[str, Client], exercise: Exercise, personas: dict[str, Any]
) -> None:
    from tests.web.conftest import schedule

    schedule(exercise, personas["interviewer"], name="<img src=x onerror=alert(1)>")
    page = clients["interviewer"].get("/interviews/")
    assert b"<img src=x" not in page.content
    assert b"&lt;img src=x onerror=alert(1)&gt;" in page.content
