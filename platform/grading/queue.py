"""Where test runs go to be executed.

Production mode sends them to Celery workers over the broker. Embedded mode
(no broker) runs them on a small thread pool in this process: off the request
path, so pages and websockets stay responsive, with the same retry rules.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, transaction

log = logging.getLogger(__name__)

# Infrastructure failures are retried this many times, with exponential backoff.
MAX_RETRIES = 3
RETRY_BACKOFF_SECONDS = 2.0

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def enqueue_after_commit(run_id: int) -> None:
    """Queue the run once the transaction that created it commits.

    Enqueuing earlier could let a fast worker look for a row that is not
    visible yet, or run work for a request that then rolled back.
    """
    transaction.on_commit(lambda: enqueue(run_id))


def enqueue(run_id: int) -> None:
    if settings.CELERY_BROKER_URL:
        from grading.tasks import run_tests

        run_tests.apply_async(args=(run_id,))
    else:
        _embedded_executor().submit(_run_embedded, run_id)


def _embedded_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=settings.SANDBOX_SLOTS, thread_name_prefix="faultline-grading"
            )
        return _executor


def _run_embedded(run_id: int) -> None:
    from grading.services import InfrastructureError, testrun_execute, testrun_give_up

    try:
        for attempt in range(MAX_RETRIES + 1):
            try:
                testrun_execute(run_id)
                return
            except InfrastructureError as exc:
                if attempt == MAX_RETRIES:
                    testrun_give_up(run_id, str(exc))
                    return
                log.warning("run %s: infrastructure error, retrying: %s", run_id, exc)
                time.sleep(RETRY_BACKOFF_SECONDS * 2**attempt)
            except Exception as exc:  # a bug here must not look like the candidate's failure
                log.exception("run %s crashed", run_id)
                testrun_give_up(run_id, f"internal error: {type(exc).__name__}: {exc}")
                return
    finally:
        close_old_connections()


def wait_idle(timeout: float = 60.0) -> None:
    """Block until the embedded pool has finished its queued work (tests, demo seeding)."""
    global _executor
    with _executor_lock:
        executor, _executor = _executor, None
    if executor is not None:
        executor.shutdown(wait=True)
