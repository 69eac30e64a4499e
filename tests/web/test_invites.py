"""Invite links follow the interview's schedule; the dashboard and the candidate say when one
has expired or was revoked."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.utils import timezone

from interviews.models import CandidateInvite, Exercise, Interview
from tests.web.conftest import client_for, schedule

pytestmark = pytest.mark.django_db

GRACE = timedelta(hours=settings.INVITE_GRACE_HOURS)


def scheduled_in(exercise: Exercise, interviewer: Any, days: float) -> tuple[Interview, str]:
    interview, token = schedule(exercise, interviewer)
    Interview.objects.filter(pk=interview.pk).update(
        scheduled_at=timezone.now() + timedelta(days=days), duration_minutes=45
    )
    interview.refresh_from_db()
    return interview, token


def test_a_link_issued_weeks_ahead_works_until_the_interview_is_over(
    exercise: Exercise, personas: dict[str, Any]
) -> None:
    interview, _ = scheduled_in(exercise, personas["interviewer"], days=17)
    from interviews import services as interview_services

    token = interview_services.invite_reissue(interview=interview)
    invite = CandidateInvite.objects.get(interview=interview, revoked_at__isnull=True)
    assert invite.expires_at == interview.scheduled_at + timedelta(minutes=45) + GRACE
    assert client_for(None).get(f"/i/{token}").status_code == 200


def test_a_new_link_for_a_missed_interview_runs_from_now(
    exercise: Exercise, personas: dict[str, Any]
) -> None:
    interview, _ = scheduled_in(exercise, personas["interviewer"], days=-2)
    from interviews import services as interview_services

    before = timezone.now()
    interview_services.invite_reissue(interview=interview)
    invite = CandidateInvite.objects.get(interview=interview, revoked_at__isnull=True)
    assert invite.expires_at >= before + timedelta(minutes=45) + GRACE


def test_scheduling_in_the_past_is_refused_with_a_message(
    exercise: Exercise, personas: dict[str, Any]
) -> None:
    client = client_for(personas["interviewer"])
    form = {
        "exercise": exercise.pk,
        "candidate_name": "Pat",
        "candidate_email": "pat@example.com",
        "scheduled_at": "2020-12-20T10:00",
        "duration_minutes": "45",
    }
    response = client.post("/interviews/schedule", form)
    assert response.status_code == 400
    assert "Sun 20 Dec 2020, 10:00 is in the past" in response.content.decode()
    assert not Interview.objects.filter(candidate_name="Pat").exists()
    upcoming = (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    later = client.post("/interviews/schedule", {**form, "scheduled_at": upcoming})
    assert later.status_code == 302
    created = Interview.objects.get(candidate_name="Pat")
    invite = CandidateInvite.objects.get(interview=created)
    assert invite.expires_at == created.scheduled_at + timedelta(minutes=45) + GRACE


def _row(html: str, interview: Interview) -> str:
    start = html.index(f'data-interview="{interview.pk}"')
    return html[start : html.index("</li>", start)]


def test_the_dashboard_shows_an_expired_link_as_expired_with_a_way_to_a_new_one(
    exercise: Exercise, personas: dict[str, Any]
) -> None:
    client = client_for(personas["interviewer"])
    interview, _ = scheduled_in(exercise, personas["interviewer"], days=1)
    client.post(f"/interviews/{interview.pk}/invite/reissue")  # this browser holds the link
    active = _row(client.get("/interviews/").content.decode(), interview)
    assert "Copy link" in active and "Link valid until" in active

    CandidateInvite.objects.filter(interview=interview).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    expired = _row(client.get("/interviews/").content.decode(), interview)
    assert "Link expired" in expired and "Issue a new link" in expired
    assert "Copy link" not in expired and "invite-link" not in expired
    assert "Revoke" not in expired

    client.post(f"/interviews/{interview.pk}/invite/reissue")
    renewed = _row(client.get("/interviews/").content.decode(), interview)
    assert "Copy link" in renewed and "Link expired" not in renewed


def test_a_revoked_link_is_shown_as_revoked_and_revoking_asks_first(
    exercise: Exercise, personas: dict[str, Any]
) -> None:
    client = client_for(personas["interviewer"])
    interview, _ = scheduled_in(exercise, personas["interviewer"], days=1)
    row = _row(client.get("/interviews/").content.decode(), interview)
    assert "data-confirm=" in row and "Revoke the invite link of Cara?" in row
    client.post(f"/interviews/{interview.pk}/invite/revoke")
    row = _row(client.get("/interviews/").content.decode(), interview)
    assert "Link revoked" in row and "Issue a new link" in row and "Copy link" not in row


def test_an_expired_invite_shows_the_candidate_a_page_saying_so(
    exercise: Exercise, personas: dict[str, Any]
) -> None:
    interview, token = scheduled_in(exercise, personas["interviewer"], days=1)
    CandidateInvite.objects.filter(interview=interview).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    page = client_for(None).get(f"/i/{token}")
    html = page.content.decode()
    assert page.status_code == 410
    assert "<h1>This invite link has expired</h1>" in html
    assert "Ask your interviewer for a new one" in html and "app.css" in html


def test_the_migration_moves_old_links_to_the_interviews_end(
    exercise: Exercise, personas: dict[str, Any]
) -> None:
    interview, _ = scheduled_in(exercise, personas["interviewer"], days=17)
    # The old rule: three days from issue, whatever the interview's date.
    CandidateInvite.objects.filter(interview=interview).update(
        expires_at=timezone.now() + timedelta(days=3)
    )
    migration = importlib.import_module("interviews.migrations.0002_invite_expiry_follows_schedule")
    migration.follow_schedule(apps, None)
    invite = CandidateInvite.objects.get(interview=interview)
    assert invite.expires_at == interview.scheduled_at + timedelta(minutes=45) + GRACE
