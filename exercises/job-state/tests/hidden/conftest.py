"""Per-test cleanup for the job-state hidden suite."""

import time

import httpx
import jobclient
import pytest

# The modules whose tests wait longest (Retry-After, deadlines) run first: with several
# workers claiming tests in collection order, a long test claimed last is what everyone
# else waits for at the end. The retries go first: their timing checks are lower bounds,
# which the other app instances still booting cannot break.
LONGEST_FIRST = ("test_retries.py", "test_timeouts.py")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)


@pytest.fixture(autouse=True)
def no_leftover_work(app_url):
    """Stop whatever a test left running, so it cannot leak into the next test.

    The reference has finished everything by then (one GET per extraction); an app
    without a working cancel gets a bounded wait for its jobs to end on their own.
    """
    jobclient.CREATED.clear()
    yield
    ids = list(jobclient.CREATED)
    jobclient.CREATED.clear()
    deadline = time.monotonic() + jobclient.JOB_TIMEOUT + 2
    with httpx.Client(base_url=app_url, timeout=5.0) as client:
        for extraction_id in ids:
            cancelled = False
            while time.monotonic() < deadline:
                try:
                    body = client.get(f"/api/extractions/{extraction_id}").json()
                    if jobclient.finished(body):
                        break
                    if not cancelled:
                        client.post(f"/api/extractions/{extraction_id}/cancel")
                        cancelled = True
                except (httpx.HTTPError, ValueError, KeyError, TypeError):
                    break
                time.sleep(0.05)
