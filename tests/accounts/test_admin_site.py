"""The Django admin is for administrators: roles never reach other people's candidates there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.roles import INTERVIEWERS
from interviews import services as interview_services
from interviews.models import Exercise, Interview

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def schedule(interviewer: User, name: str, email: str) -> Interview:
    exercise, _ = Exercise.objects.get_or_create(
        slug="admin-demo", defaults={"title": "Admin demo", "version_hash": "v1"}
    )
    interview, _ = interview_services.interview_create(
        exercise=exercise,
        candidate_name=name,
        candidate_email=email,
        interviewers=[interviewer],
        created_by=interviewer,
        starter_files={"app/main.py": "x = 1\n"},
    )
    return interview


def admin_pages() -> list[str]:
    """The admin's index and every registered model's list page."""
    pages = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    return pages


def test_admin_site_is_the_admins_only_one() -> None:
    from accounts.admin_site import AdminsOnlySite

    assert isinstance(admin.site, AdminsOnlySite)
    assert len(admin_pages()) > 8  # interviews, invites, timeline, runs, scorecards, ...


@pytest.mark.parametrize("who", ["interviewer", "hiring_manager", "outsider"])
def test_staff_flag_alone_opens_no_admin_page(personas: dict[str, Any], who: str) -> None:
    # Marked staff, as the demo accounts were: still no admin page, and another
    # interviewer's candidate appears nowhere.
    other = User.objects.create_user("otto", password="pw-otto-12345")
    other.groups.add(Group.objects.get(name=INTERVIEWERS))
    schedule(other, "Zelda Secret", "zelda.secret@example.com")
    user = personas[who]
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)

    for page in admin_pages():
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith(reverse("admin:login")), page
        assert b"Zelda" not in response.content and b"zelda.secret" not in response.content
    assert "not authorized" in client.get(reverse("admin:login")).content.decode()


def test_the_admin_account_sees_the_interviews(personas: dict[str, Any]) -> None:
    schedule(personas["interviewer"], "Zelda Secret", "zelda.secret@example.com")
    root = User.objects.create_superuser("root", "root@example.com", "pw-root-12345")
    client = Client()
    client.force_login(root)

    for page in admin_pages():
        assert client.get(page).status_code == 200, page
    listing = client.get(reverse("admin:interviews_interview_changelist"))
    assert b"Zelda Secret" in listing.content


def test_demo_accounts_are_not_staff_and_old_demo_databases_are_corrected(
    transactional_db: Any,
) -> None:
    from interviews.exercises import exercises_sync

    exercises_sync(root=Path(settings.EXERCISES_DIR))
    # A database seeded before: the demo interviewer was made staff.
    User.objects.create_user("interviewer", password="old", is_staff=True)

    call_command("seed_demo", "--skip-grading")

    staff = sorted(User.objects.filter(is_staff=True).values_list("username", flat=True))
    assert staff == ["admin"]
    assert User.objects.get(username="admin").is_superuser
    interviewer = User.objects.get(username="interviewer")
    assert interviewer.has_perm("interviews.conduct_interview")  # the role is the group
    assert User.objects.get(username="manager").has_perm("review.review_interview")
