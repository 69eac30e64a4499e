"""The review pages as a hiring manager, an interviewer, an outsider and a candidate see them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from interviews.models import Interview
from review.models import Decision

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(make_graded: Any) -> tuple[Interview, Interview]:
    strong = make_graded("Riley Reference", ratings={"communication": 3})
    weak = make_graded(
        "Morgan Mutant",
        failing={"test_faults.py::test_fault[stall]", "test_faults.py::test_fault[garbage]"},
    )
    return strong, weak


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def urls(interview: Interview, other: Interview) -> list[tuple[str, str]]:
    pk = interview.pk
    return [
        ("get", reverse("review:list")),
        ("get", reverse("review:scorecard", args=[pk])),
        ("get", reverse("review:replay", args=[pk])),
        ("get", reverse("review:compare") + f"?ids={pk}&ids={other.pk}"),
        ("get", reverse("review:distribution", args=[interview.exercise.slug])),
        ("get", reverse("review:export_csv")),
        ("get", reverse("review:export_json")),
        ("post", reverse("review:decide", args=[pk])),
    ]


# ---------------------------------------------------------------- permissions


def test_outsider_gets_403_everywhere_and_decides_nothing(personas, two):
    strong, weak = two
    c = client_for(personas["outsider"])
    for method, url in urls(strong, weak):
        response = getattr(c, method)(url, {"outcome": "advance"} if method == "post" else None)
        assert response.status_code == 403, url
        assert b"Riley" not in response.content
    strong.refresh_from_db()
    assert strong.state == "graded" and not Decision.objects.exists()


def test_interviewer_without_review_role_gets_403(personas, two):
    strong, weak = two
    c = client_for(personas["interviewer"])
    for method, url in urls(strong, weak):
        assert getattr(c, method)(url).status_code == 403, url


def test_anonymous_is_sent_to_login(two):
    strong, weak = two
    c = Client()
    for method, url in urls(strong, weak):
        response = getattr(c, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/")
    assert not Decision.objects.exists()


def test_candidate_session_sees_nothing(two):
    """A candidate's browser carries an invite session, never an account."""
    strong, weak = two
    c = Client()
    session = c.session
    session["candidate_invite"] = 1  # the key web.views sets after an invite
    session.save()
    for method, url in urls(strong, weak):
        response = getattr(c, method)(url)
        assert response.status_code in {302, 403}, url
        assert b"Riley" not in response.content


def test_reader_without_add_decision_cannot_decide(personas, two):
    from django.contrib.auth.models import Permission

    strong, _ = two
    reader = personas["outsider"]
    reader.user_permissions.add(Permission.objects.get(codename="review_interview"))
    c = client_for(reader)
    page = c.get(reverse("review:scorecard", args=[strong.pk]))
    assert page.status_code == 200
    assert b'data-testid="decision-form"' not in page.content
    response = c.post(reverse("review:decide", args=[strong.pk]), {"outcome": "reject"})
    assert response.status_code == 403
    assert not Decision.objects.exists()


# ---------------------------------------------------------------- list


def test_list_shows_scores_bars_interviewer_and_filters(personas, two, make_graded):
    c = client_for(personas["hiring_manager"])
    page = c.get(reverse("review:list")).content.decode()
    assert "Riley Reference" in page and "Morgan Mutant" in page
    assert "ivy" in page  # the interviewer
    assert 'class="rv-bars"' in page and "Error handling" in page
    # highest score first, unscored last
    page = c.get(reverse("review:list"), {"sort": "-overall"}).content.decode()
    assert page.index("Riley Reference") < page.index("Morgan Mutant")
    page = c.get(reverse("review:list"), {"sort": "overall"}).content.decode()
    assert page.index("Morgan Mutant") < page.index("Riley Reference")
    page = c.get(reverse("review:list"), {"q": "morgan"}).content.decode()
    assert "Morgan Mutant" in page and "Riley Reference" not in page


def test_list_filters_by_state_and_exercise(personas, two, make_graded):
    from interviews.models import Exercise

    other = Exercise.objects.create(
        slug="other", title="Other exercise", version_hash="x", manifest=two[0].exercise.manifest
    )
    make_graded("Olive Other", for_exercise=other, state="reviewed")
    c = client_for(personas["hiring_manager"])
    page = c.get(reverse("review:list"), {"exercise": "other"}).content.decode()
    assert "Olive Other" in page and "Riley Reference" not in page
    page = c.get(reverse("review:list"), {"state": "graded"}).content.decode()
    assert "Olive Other" not in page and "Riley Reference" in page


def test_list_leaves_out_interviews_not_graded_yet(personas, exercise):
    Interview.objects.create(
        exercise=exercise,
        exercise_version="v1",
        candidate_name="Lara Live",
        candidate_email="l@example.com",
        state="live",
    )
    c = client_for(personas["hiring_manager"])
    assert "Lara Live" not in c.get(reverse("review:list")).content.decode()


def test_hostile_candidate_name_is_escaped(personas, make_graded):
    make_graded("<script>alert(1)</script> Eve")
    c = client_for(personas["hiring_manager"])
    page = c.get(reverse("review:list")).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Eve" in page
