"""Where test runs go to be executed, and the one retry policy they follow.

Production mode sends them to Celery workers over the broker. Embedded mode
(no broker) runs them on a small thread pool in this process: off the request
path, so pages and websockets stay responsive. Both call `attempt` for each
try, so one exception is handled the same way in both modes, and both run
`sweep` periodically (Celery beat; a daemon thread here) for runs whose
holder died without a word.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, close_old_connections, transaction

log = logging.getLogger(__name__)

# Every failure of the platform (the sandbox, a time limit, the database, a
# bug) is retried this many times, with exponential backoff; then the run is
# failed with the reason, where staff see it and "Grade again" can retry it.
MAX_RETRIES = 3
RETRY_BACKOFF_SECONDS = 2.0
# How often the sweeper looks for runs whose holder died.
SWEEP_SECONDS = 60.0

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_sweeper: threading.Thread | None = None


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


def _reason(exc: BaseException) -> tuple[str, bool]:
    """What went wrong in words for staff, and whether it is an expected failure."""
    from grading.services import InfrastructureError

    if isinstance(exc, InfrastructureError):
        return f"infrastructure error: {exc}", True
    if isinstance(exc, SoftTimeLimitExceeded):
        return "the run took longer than its time limit", True
    if isinstance(exc, DatabaseError):
        return f"database error: {type(exc).__name__}: {exc}", False
    return f"internal error: {type(exc).__name__}: {exc}", False


def attempt(run_id: int, n: int) -> float | None:
    """Try run `run_id` for the n-th time (0 first). Returns the seconds to wait
    before try n+1, or None when the run is done: finished, or failed visibly.

    One policy for every exception: whatever the platform raised (the sandbox,
    a time limit, the database, a bug), the run is put back in the queue and
    retried up to MAX_RETRIES times, then failed with the reason. Never left
    `running`: if even that write fails (the database is down), its holder is
    this process's and its heartbeat stops, so the sweeper takes it over.
    """
    from grading.services import testrun_execute, testrun_give_up, testrun_release

    try:
        testrun_execute(run_id)
        return None
    except Exception as exc:  # a failure of ours must never look like the candidate's
        reason, expected = _reason(exc)
        if expected:
            log.warning("run %s, attempt %s: %s", run_id, n + 1, reason)
        else:
            log.exception("run %s, attempt %s: %s", run_id, n + 1, reason)
    close_old_connections()  # a broken connection is not reused for the next write
    try:
        if n >= MAX_RETRIES:
            testrun_give_up(run_id, f"gave up after {n + 1} attempts: {reason}")
            return None
        testrun_release(run_id)
    except Exception:
        log.exception("run %s: recording the failure failed; the sweeper will take it", run_id)
        return None
    return RETRY_BACKOFF_SECONDS * 2**n


def sweep(*, orphaned_queued: bool = True) -> list[int]:
    """Take over or fail runs whose holder died; returns the ids queued again."""
    from grading.services import testrun_sweep

    return testrun_sweep(orphaned_queued=orphaned_queued)


def _embedded_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=settings.SANDBOX_SLOTS, thread_name_prefix="faultline-grading"
            )
        return _executor


def _run_embedded(run_id: int) -> None:
    n = 0
    try:
        while (delay := attempt(run_id, n)) is not None:
            time.sleep(delay)
            n += 1
    finally:
        close_old_connections()


def start_sweeper(interval: float = SWEEP_SECONDS) -> None:
    """Embedded mode has no Celery beat: sweep now and then from a daemon thread.

    Sweeping at start matters most here: the pool lives in this process, so a
    run queued or running when the server last stopped has no one else to run it.
    """
    global _sweeper
    with _executor_lock:
        if _sweeper is not None:
            return
        stop = threading.Event()

        def tick() -> None:
            first = True
            while True:
                try:
                    # Later sweeps leave queued runs alone: they wait for this
                    # process's own pool, and a second copy would run them twice.
                    sweep(orphaned_queued=first)
                    first = False
                except Exception:  # one failed sweep must not stop the next
                    log.exception("sweeping lost test runs failed")
                finally:
                    close_old_connections()
                if stop.wait(interval):
                    return

        _sweeper = threading.Thread(target=tick, name="faultline-grading-sweeper", daemon=True)
        _sweeper.start()


def wait_idle(timeout: float = 60.0) -> None:
    """Block until the embedded pool has finished its queued work (tests, demo seeding)."""
    global _executor
    with _executor_lock:
        executor, _executor = _executor, None
    if executor is not None:
        executor.shutdown(wait=True)
