"""Production mode: the one retry policy (grading.queue.attempt) in a real Celery worker.

A database error in a worker used to leave the run `running` forever (the task
caught only infrastructure and time-limit errors). Now it is retried, then the
run is failed with the reason, and "Grade again" grades it once the database
takes writes again. The failure is real: PostgreSQL refuses the scorecard.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from grading import queue
from grading.models import Scorecard, TestRun
from interviews.models import Interview
from tests.integration.conftest import Worker, wait_for
from tests.integration.test_grading_worker import _submit, interview, spec  # noqa: F401

pytestmark = [pytest.mark.production, pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def scorecards_refused(transactional_db: Any) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE FUNCTION shape_refuse() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'could not extend file (injected)'; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER shape_refuse_scorecards BEFORE INSERT ON grading_scorecard "
            "FOR EACH ROW EXECUTE FUNCTION shape_refuse()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS shape_refuse_scorecards ON grading_scorecard")
            cursor.execute("DROP FUNCTION IF EXISTS shape_refuse()")


def test_a_database_error_in_a_worker_is_retried_then_failed_visibly(
    celery_worker: Worker,
    interview: Interview,  # noqa: F811
    scorecards_refused: None,
) -> None:
    run = _submit(interview)
    wait_for(
        lambda: TestRun.objects.get(pk=run.pk).finished,
        timeout=300,
        what=f"the run to end retried or failed\n{celery_worker.output()[-3000:]}",
    )
    run.refresh_from_db()
    assert run.state == TestRun.State.ERROR
    assert run.attempts == queue.MAX_RETRIES + 1
    assert "database error" in run.infra_error and "injected" in run.infra_error
    assert not Scorecard.objects.filter(test_run=run).exists()
