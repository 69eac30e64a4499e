"""A task enqueued by the web process after commit runs in a separate Celery worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from grading.tasks import end_overdue_interviews
from interviews.models import Exercise, Interview
from tests.integration.conftest import Worker, wait_for

pytestmark = [pytest.mark.production, pytest.mark.integration]


def test_worker_process_runs_a_task_enqueued_after_commit(
    celery_worker: Worker, personas: dict
) -> None:
    from django.conf import settings

    assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    exercise = Exercise.objects.create(slug="x", title="X", version_hash="v")
    with transaction.atomic():
        interview = Interview.objects.create(
            exercise=exercise,
            exercise_version="v",
            candidate_name="Cara",
            candidate_email="c@example.com",
            state=Interview.State.LIVE,
            started_at=timezone.now() - timedelta(minutes=61),
            duration_minutes=60,
        )
        # Enqueued only when the row is committed: the worker must find it.
        transaction.on_commit(lambda: end_overdue_interviews.delay())

    def ended() -> bool:
        interview.refresh_from_db()
        return interview.state != Interview.State.LIVE

    wait_for(ended, what="the worker to end the overdue interview")
    assert interview.state in {"ended", "graded"}
    assert "end_overdue_interviews" in celery_worker.output()
    # The worker logs the task's result after the task has committed the change.
    wait_for(
        lambda: f"[{interview.pk}]" in celery_worker.output(),
        what="the worker to report what it ended",
    )
