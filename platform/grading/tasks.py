"""Celery tasks: take ids, call one service; the retry policy is grading.queue.attempt."""

from __future__ import annotations

from celery import Task, shared_task

from grading import queue, services


@shared_task(
    bind=True,
    acks_late=True,  # a worker that dies mid-run leaves the message to be redelivered
    reject_on_worker_lost=True,
    soft_time_limit=240,
    time_limit=300,
    max_retries=queue.MAX_RETRIES,
)
def run_tests(self: Task, run_id: int) -> None:
    delay = queue.attempt(run_id, self.request.retries)
    if delay is not None:
        raise self.retry(countdown=delay)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def sweep_runs() -> list[int]:
    """Take over or fail runs whose worker died (stale heartbeat); see grading.queue.sweep."""
    return queue.sweep()


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def end_overdue_interviews() -> list[int]:
    """End live interviews whose time box has run out (which enqueues their grading)."""
    return services.interviews_end_overdue()
