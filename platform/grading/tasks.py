"""Celery tasks: take ids, call one service, own their retries."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded

from grading.queue import MAX_RETRIES, RETRY_BACKOFF_SECONDS
from grading.services import InfrastructureError, testrun_execute, testrun_give_up

log = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,  # a worker that dies mid-run leaves the message to be redelivered
    reject_on_worker_lost=True,
    soft_time_limit=240,
    time_limit=300,
    max_retries=MAX_RETRIES,
)
def run_tests(self: Task, run_id: int) -> str:
    try:
        return testrun_execute(run_id)
    except (InfrastructureError, SoftTimeLimitExceeded) as exc:
        if self.request.retries >= MAX_RETRIES:
            testrun_give_up(run_id, f"gave up after {self.request.retries + 1} attempts: {exc}")
            return "error"
        log.warning("run %s: infrastructure error, retrying: %s", run_id, exc)
        raise self.retry(
            exc=exc, countdown=RETRY_BACKOFF_SECONDS * 2**self.request.retries
        ) from exc
