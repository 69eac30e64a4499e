"""The live preview's suites share a live-session manager on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from preview import manager as live_manager
from preview import services

import sandbox
from tests.requirements import missing, require_bwrap, require_docker


@pytest.fixture(params=["bwrap", "docker"])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    require_bwrap() if name == "bwrap" else require_docker()
    status = sandbox.get_backend(name).status()
    if not status.available:
        missing(f"sandbox backend {name}: {status.detail}")
    return name


@pytest.fixture
def live(backend: str, settings: Any) -> Iterator[live_manager.LiveManager]:
    made = live_manager.LiveManager(
        capacity=1,
        idle_seconds=600,
        backend=backend,
        files_of=services.workspace_bytes,
        slug_of=services.exercise_slug,
        on_event=services.live_event_record,
        still_live=services.interview_is_live,
    )
    old = live_manager.set_manager(made)
    try:
        yield made
    finally:
        made.stop_all()
        live_manager.set_manager(old)
