"""One retry policy (grading.queue.attempt) and the sweeper, in embedded mode.

Every failure of the platform ends in a retried run or a visibly failed one
with the reason, never in a run left `running`. The failures are real: a
database that refuses a write (a trigger), a stored rubric the scorer cannot
read, a sandbox runtime that is not there (test_pipeline), a holder process
that died. tests/integration/test_retry_worker.py does the same under Celery.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from grading import queue, services
from grading.models import Scorecard, TestRun
from interviews.models import Exercise, Interview
from tests.grading.conftest import put_files
from tests.requirements import require_bwrap

pytestmark = [pytest.mark.slow]


@pytest.fixture(autouse=True)
def _fast(monkeypatch: Any) -> None:
    require_bwrap()
    monkeypatch.setattr(queue, "RETRY_BACKOFF_SECONDS", 0.01)
    monkeypatch.setattr(queue, "MAX_RETRIES", 1)  # the policy, with fewer runs of the suite


@pytest.fixture
def scorecards_refused(live_interview: Interview) -> Iterator[None]:
    """The database refuses every new scorecard (as a full disk or a lost replica would)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TRIGGER shape_refuse_scorecards BEFORE INSERT ON grading_scorecard "
            "BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS shape_refuse_scorecards")


def test_a_database_error_is_retried_then_the_run_fails_visibly_and_grade_again_works(
    live_interview: Interview, add_metadata: Any, scorecards_refused: None
) -> None:
    put_files(live_interview, add_metadata.solution_files())
    run = services.grading_request(interview=live_interview, requested_by="candidate")
    queue.wait_idle()
    run.refresh_from_db()
    assert run.state == TestRun.State.ERROR
    assert run.attempts == queue.MAX_RETRIES + 1, "a database error is retried"
    assert "database error" in run.infra_error and "injected" in run.infra_error
    assert not Scorecard.objects.filter(test_run=run).exists()

    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER shape_refuse_scorecards")
    again = services.grading_request(interview=live_interview, requested_by="operator")
    queue.wait_idle()
    again.refresh_from_db()
    assert again.pk == run.pk and again.state == TestRun.State.PASSED
    assert Scorecard.objects.get(test_run=run).overall == 100.0


def test_an_unexpected_error_is_retried_then_the_run_fails_with_the_reason(
    live_interview: Interview, add_metadata: Any
) -> None:
    exercise = live_interview.exercise
    exercise.manifest = {**exercise.manifest, "rubric": {"criteria": "not a list"}}
    Exercise.objects.filter(pk=exercise.pk).update(manifest=exercise.manifest)
    put_files(live_interview, add_metadata.solution_files())
    run = services.grading_request(interview=live_interview, requested_by="candidate")
    queue.wait_idle()
    run.refresh_from_db()
    assert run.state == TestRun.State.ERROR, "never left running"
    assert run.attempts == queue.MAX_RETRIES + 1
    assert run.infra_error.startswith(f"gave up after {queue.MAX_RETRIES + 1} attempts")
    assert "internal error" in run.infra_error


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _held_by_a_dead_process(
    interview: Interview, add_metadata: Any, attempts: int, monkeypatch: Any
) -> TestRun:
    import socket

    put_files(interview, add_metadata.solution_files())
    with monkeypatch.context() as paused:  # the run reaches no worker: its holder dies unheard
        paused.setattr(queue, "enqueue", lambda run_id: None)
        run = services.grading_request(interview=interview, requested_by="candidate")
    TestRun.objects.filter(pk=run.pk).update(
        state=TestRun.State.RUNNING,
        attempts=attempts,
        result={"holder": f"{socket.gethostname()}:{_dead_pid()}"},
    )
    return run


def test_the_sweeper_takes_over_a_run_whose_holder_died(
    live_interview: Interview, add_metadata: Any, monkeypatch: Any
) -> None:
    run = _held_by_a_dead_process(live_interview, add_metadata, 1, monkeypatch)
    assert queue.sweep() == [run.pk]
    queue.wait_idle()
    run.refresh_from_db()
    assert run.state == TestRun.State.PASSED, run.infra_error
    assert run.attempts == 2
    assert Scorecard.objects.get(test_run=run).overall == 100.0
    assert queue.sweep() == [], "a finished run is left alone"


def test_the_sweeper_fails_a_dead_run_that_used_up_its_attempts(
    live_interview: Interview, add_metadata: Any, monkeypatch: Any
) -> None:
    run = _held_by_a_dead_process(live_interview, add_metadata, queue.MAX_RETRIES + 1, monkeypatch)
    assert queue.sweep() == []
    run.refresh_from_db()
    assert run.state == TestRun.State.ERROR
    assert "stopped answering" in run.infra_error


def test_the_sweeper_leaves_a_run_held_by_a_live_process(
    live_interview: Interview, add_metadata: Any, monkeypatch: Any
) -> None:
    import os
    import socket

    run = _held_by_a_dead_process(live_interview, add_metadata, 1, monkeypatch)
    TestRun.objects.filter(pk=run.pk).update(
        result={"holder": f"{socket.gethostname()}:{os.getpid()}"},
        heartbeat_at=run.created_at,
        started_at=run.created_at,
    )
    assert queue.sweep(orphaned_queued=False) == []
    assert TestRun.objects.get(pk=run.pk).state == TestRun.State.RUNNING


def test_a_run_records_the_suite_version_that_ran_not_the_one_of_the_interview(
    live_interview: Interview, add_metadata: Any
) -> None:
    # The hidden suite or the kit changed on disk since the interview was made.
    Interview.objects.filter(pk=live_interview.pk).update(exercise_version="sha256:before")
    live_interview.refresh_from_db()
    put_files(live_interview, add_metadata.solution_files())
    run = services.visible_run_request(interview=live_interview, requested_by="candidate")
    assert run.suite_version == "sha256:before"
    queue.wait_idle()
    run.refresh_from_db()
    assert run.state == TestRun.State.PASSED, run.infra_error
    assert run.suite_version == add_metadata.version_hash != "sha256:before"


def test_the_stored_rubric_and_scorecard_read_back_typed(
    live_interview: Interview, add_metadata: Any
) -> None:
    assert live_interview.exercise.rubric == add_metadata.rubric
    put_files(live_interview, add_metadata.solution_files())
    run = services.grading_request(interview=live_interview, requested_by="candidate")
    queue.wait_idle()
    scorecard = Scorecard.objects.get(test_run=run)
    assert scorecard.rubric_typed == add_metadata.rubric
    assert scorecard.card.overall == scorecard.overall == 100.0
    assert scorecard.card.rubric_version == add_metadata.rubric.version
