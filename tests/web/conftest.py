"""Fixtures for the room: an exercise in the catalog's shape, an interview, logged-in clients."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.test import Client

import rubrics
from interviews import services as interview_services
from interviews.models import Exercise, Interview

MANIFEST: dict[str, Any] = {
    "tasks": [
        {"id": "one", "title": "Add a field", "body": "Add **summary**.\n\n<script>x()</script>"},
        {"id": "two", "title": "Show it", "body": "Render it safely."},
    ],
    "pm_script": {
        "intro": "You are the PM.",
        "tasks": [
            {"id": "one", "say": "We want summaries.", "hints": ["Look at llm.py"]},
            {"id": "two", "say": "Show it in the UI."},
        ],
    },
    # As sync_exercises stores it: the parsed rubric's to_dict().
    "rubric": rubrics.parse_rubric(
        {
            "rubric": {"id": "room-demo", "title": "Room demo", "scale": 3},
            "criteria": [
                {
                    "id": "correctness",
                    "title": "Correct",
                    "description": "It works.",
                    "weight": 1,
                    "source": "automated",
                    "levels": {"0": "no", "1": "barely", "2": "mostly", "3": "yes"},
                },
                {
                    "id": "communication",
                    "title": "Communication",
                    "description": "Says what they do and why.",
                    "weight": 1,
                    "source": "interviewer",
                    "levels": {"0": "silent", "1": "some", "2": "clear", "3": "excellent"},
                },
            ],
        }
    ).to_dict(),
}


@pytest.fixture
def exercise(db: None) -> Exercise:
    return Exercise.objects.create(
        slug="room-demo",
        title="Room demo",
        version_hash="v1",
        # A copy: a test that edits its exercise must not edit the next test's.
        manifest=copy.deepcopy(MANIFEST),
    )


def schedule(exercise: Exercise, interviewer: Any, name: str = "Cara") -> tuple[Interview, str]:
    return interview_services.interview_create(
        exercise=exercise,
        candidate_name=name,
        candidate_email=f"{name.lower()}@example.com",
        interviewers=[interviewer],
        created_by=interviewer,
        starter_files={"app/main.py": "print('hi')\n", "README.md": "# demo\n"},
    )


@pytest.fixture
def interview_and_token(exercise: Exercise, personas: dict[str, Any]) -> tuple[Interview, str]:
    return schedule(exercise, personas["interviewer"])


@pytest.fixture
def other_interviewer(personas: dict[str, Any]) -> Any:
    """An interviewer who is not on the interview under test."""
    from django.contrib.auth.models import Group, User

    from accounts.roles import INTERVIEWERS

    user = User.objects.create_user("otto", password="pw-otto-12345")
    user.groups.add(Group.objects.get(name=INTERVIEWERS))
    return user


def client_for(user: Any | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def candidate_client(token: str) -> Client:
    client = Client()
    response = client.post(f"/i/{token}")
    assert response.status_code == 302 and response["Location"] == "/room/"
    return client
