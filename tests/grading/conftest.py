"""Fixtures for grading tests: a real exercise, a live interview, channel-layer listeners."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from exercises import catalog


@pytest.fixture(scope="session")
def add_metadata() -> catalog.Exercise:
    return catalog.find("add-metadata", Path(settings.EXERCISES_DIR))


def as_text(files: dict[str, bytes]) -> dict[str, str]:
    return {path: data.decode() for path, data in files.items()}


@pytest.fixture
def live_interview(transactional_db: Any, personas: dict[str, Any], add_metadata: Any) -> Any:
    """A live add-metadata interview whose workspace holds the starter."""
    from interviews import services
    from interviews.exercises import exercises_sync

    exercises_sync(root=Path(settings.EXERCISES_DIR))
    from interviews.models import Exercise

    exercise = Exercise.objects.get(slug="add-metadata")
    interview, _ = services.interview_create(
        exercise=exercise,
        candidate_name="Cara Candidate",
        candidate_email="cara@example.com",
        interviewers=[personas["interviewer"]],
        created_by=personas["interviewer"],
        starter_files=as_text(add_metadata.starter_files()),
    )
    return services.interview_start(interview=interview, actor="ivy")


def put_files(interview: Any, files: dict[str, bytes]) -> None:
    from interviews.models import WorkspaceFile

    for path, data in files.items():
        WorkspaceFile.objects.update_or_create(
            interview=interview, path=path, defaults={"content": data.decode()}
        )


class Listener:
    """Collects what the channel layer delivers to one interview group."""

    def __init__(self, layer: Any, channel: str) -> None:
        self.layer = layer
        self.channel = channel
        self.events: list[dict[str, Any]] = []

    async def drain_until(self, predicate: Any, timeout: float = 120.0) -> list[dict[str, Any]]:
        async def loop() -> None:
            while not any(predicate(e) for e in self.events):
                message = await self.layer.receive(self.channel)
                self.events.append(message["event"])

        await asyncio.wait_for(loop(), timeout)
        return self.events


async def listen(interview_id: int, audience: str) -> Listener:
    from channels.layers import get_channel_layer

    from interviews.events import group_name

    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group_name(interview_id, audience), channel)
    return Listener(layer, channel)
