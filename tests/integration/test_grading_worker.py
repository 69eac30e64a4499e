"""Production mode: Celery worker processes grade real submissions in Docker sandboxes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections, transaction

from exercises import catalog
from grading import services
from grading.models import Scorecard, TestRun
from interviews import services as interview_services
from interviews.exercises import exercises_sync
from interviews.models import Exercise, Interview, WorkspaceFile
from tests.grading.conftest import listen
from tests.integration.conftest import Worker, wait_for
from tests.requirements import require_docker

pytestmark = [pytest.mark.production, pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def spec() -> catalog.Exercise:
    return catalog.find("add-metadata", Path(settings.EXERCISES_DIR))


@pytest.fixture
def interview(transactional_db: Any, personas: dict, spec: catalog.Exercise) -> Interview:
    require_docker()
    exercises_sync(root=Path(settings.EXERCISES_DIR))
    created, _ = interview_services.interview_create(
        exercise=Exercise.objects.get(slug="add-metadata"),
        candidate_name="Pat Production",
        candidate_email="pat@example.com",
        interviewers=[personas["interviewer"]],
        created_by=personas["interviewer"],
        starter_files={p: d.decode() for p, d in spec.starter_files().items()},
    )
    for path, data in spec.solution_files().items():
        WorkspaceFile.objects.update_or_create(
            interview=created, path=path, defaults={"content": data.decode()}
        )
    return interview_services.interview_start(interview=created, actor="ivy")


def _submit(interview: Interview) -> TestRun:
    with transaction.atomic():
        return services.grading_request(interview=interview, requested_by="candidate")


def test_worker_grades_a_submission_in_a_docker_sandbox(
    celery_worker: Worker, interview: Interview
) -> None:
    assert settings.SANDBOX_BACKEND == "docker"
    run = _submit(interview)
    wait_for(
        lambda: Scorecard.objects.filter(test_run_id=run.pk).exists(),
        timeout=120,
        what=f"a scorecard\n{celery_worker.output()[-3000:]}",
    )
    run.refresh_from_db()
    assert run.state == TestRun.State.PASSED
    assert run.result["sandbox"]["backend"] == "docker"
    assert Scorecard.objects.get(test_run=run).overall == 100.0
    assert "grading.tasks.run_tests" in celery_worker.output()
    # End right after that Submit, no edit in between: graded from the same run (issue 18).
    services.interview_end(interview=interview, actor="ivy")
    interview.refresh_from_db()
    assert interview.state == Interview.State.GRADED
    assert interview.test_runs.count() == 1


def test_an_app_that_prints_nul_bytes_is_graded_not_failed_as_infrastructure(
    celery_worker: Worker, interview: Interview
) -> None:
    # PostgreSQL refuses NUL in text and jsonb: the app's output is stored with the
    # run, so one stray byte used to fail the whole grading write.
    main = WorkspaceFile.objects.get(interview=interview, path="app/main.py")
    main.content += '\nimport sys\nsys.stderr.write("boot\\x00ed\\n")\n'
    main.save()
    run = _submit(interview)
    wait_for(
        lambda: TestRun.objects.get(pk=run.pk).finished,
        timeout=120,
        what=f"the run to finish\n{celery_worker.output()[-3000:]}",
    )
    run.refresh_from_db()
    assert run.state == TestRun.State.PASSED, run.infra_error
    assert "boot\ufffded" in run.result["sandbox"]["app_output"]
    assert Scorecard.objects.get(test_run=run).overall == 100.0


def test_a_worker_killed_mid_run_is_retried_and_scores_once(
    celery_worker: Worker, interview: Interview
) -> None:
    run = _submit(interview)
    wait_for(
        lambda: TestRun.objects.get(pk=run.pk).state == TestRun.State.RUNNING,
        timeout=60,
        what="the run to start",
    )
    victims = celery_worker.child_pids()
    assert victims, "the prefork pool has a process running the task"
    for pid in victims:
        os.kill(pid, signal.SIGKILL)  # the machine's OOM killer, a node lost...
    wait_for(
        lambda: TestRun.objects.get(pk=run.pk).finished,
        timeout=180,
        what=f"the retried run to finish\n{celery_worker.output()[-3000:]}",
    )
    run.refresh_from_db()
    assert run.state == TestRun.State.PASSED, run.infra_error
    assert run.attempts >= 2, "the run was taken over after the worker died"
    assert Scorecard.objects.filter(interview=interview).count() == 1
    assert Scorecard.objects.get(test_run=run).overall == 100.0

    def no_sandbox_left() -> bool:
        # The killed processes' containers; the successor's own (a warm pool) may stay.
        for pid in victims:
            owner = f"label=faultline.owner={socket.gethostname()}:{pid}"
            listed = subprocess.run(
                ["docker", "ps", "-aq", "--filter", owner],
                capture_output=True,
                text=True,
                check=True,
            )
            if listed.stdout.strip():
                return False
        return True

    # The killed process's containers are swept by its successor, not leaked.
    wait_for(no_sandbox_left, timeout=30, what="the dead run's containers to be removed")


@pytest.mark.asyncio
async def test_progress_events_reach_the_room_over_redis_in_order(
    celery_worker: Worker, interview: Interview
) -> None:
    assert "Redis" in settings.CHANNEL_LAYERS["default"]["BACKEND"]
    staff = await listen(interview.pk, "staff")
    await sync_to_async(_submit)(interview)
    events = await asyncio.wait_for(
        staff.drain_until(lambda e: e["kind"] == "scorecard"), timeout=150
    )
    kinds = [e["kind"] for e in events]
    states = [e["run"]["state"] for e in events if e["kind"] == "run"]
    assert states[0] == "queued" and "running" in states and states[-1] == "passed"
    first_test, last_test = kinds.index("run.test"), len(kinds) - 1 - kinds[::-1].index("run.test")
    assert kinds.index("run") < first_test and last_test < kinds.index("scorecard")
    # This thread's connection would keep the test database from being dropped.
    await sync_to_async(connections.close_all)()
