"""Hidden tests: transient provider errors are retried with backoff, within a budget."""

import itertools
import time

import pytest
from faultkit import reply, status
from jobclient import BACKOFF_BASE, MAX_ATTEMPTS, calls_for, create, settle, wait_for


def gaps(calls):
    """Seconds between the end of each call and the start of the next."""
    return [b.started_at - a.finished_at for a, b in itertools.pairwise(calls)]


@pytest.mark.criterion("timeouts-and-retries", fails_to=1)
@pytest.mark.spec("retries.retry-after", "retries.which")
def test_retries_rate_limit_after_retry_after(app, provider):
    """retries a 429 and waits at least as long as its Retry-After says"""
    provider.script(status(429, retry_after=1), reply("after the rate limit"))
    body = create(app, ["p1"])
    job = wait_for(app, body["id"])["jobs"][0]
    assert job["state"] == "completed", f"a 429 then a success should complete: {job}"
    assert job["result"] == "after the rate limit"
    calls = calls_for(provider, "p1")
    assert len(calls) == 2, f"expected one retry, saw {len(calls)} calls"
    # Lower bound only (a slow machine makes it longer, never shorter); 10 % slack.
    assert gaps(calls)[0] >= 0.9, f"retried {gaps(calls)[0]:.2f} s after a 429 with Retry-After: 1"


@pytest.mark.criterion("timeouts-and-retries", fails_to=0)
@pytest.mark.spec("retries.which")
def test_retries_unavailable(app, provider):
    """retries 503 until the provider answers"""
    provider.script(status(503), status(503), reply("third time lucky"))
    body = create(app, ["p2"])
    job = wait_for(app, body["id"])["jobs"][0]
    assert job["state"] == "completed", job
    assert job["result"] == "third time lucky"
    assert len(calls_for(provider, "p2")) == 3


# A job that retries 503 but not one of these has one slip, not no retries at all.
@pytest.mark.criterion("timeouts-and-retries", fails_to=2)
@pytest.mark.spec("retries.which")
@pytest.mark.parametrize(
    "code",
    [
        pytest.param(c, marks=pytest.mark.title(f"retries a {c} as it retries a 503"))
        for c in (500, 502, 504)
    ],
)
def test_retries_every_transient_status(app, provider, code):
    """retries a 500, 502 or 504 as it retries a 503"""
    provider.script(status(code), reply("on the retry"))
    body = create(app, ["p6"])
    job = wait_for(app, body["id"])["jobs"][0]
    assert job["state"] == "completed", f"a {code}, then an answer, should complete: {job}"
    assert job["result"] == "on the retry"


@pytest.mark.criterion("timeouts-and-retries", fails_to=0)
@pytest.mark.spec("retries.budget")
def test_gives_up_after_the_attempt_budget(app, provider):
    """gives up after EXTRACT_MAX_ATTEMPTS calls when the provider stays unavailable"""
    provider.script(default=status(503))
    body = create(app, ["p3"])
    job = wait_for(app, body["id"])["jobs"][0]
    assert job["state"] == "failed", job
    time.sleep(2 * BACKOFF_BASE)  # room for a retry that should not come
    settle(provider)
    calls = calls_for(provider, "p3")
    assert len(calls) == MAX_ATTEMPTS, (
        f"made {len(calls)} calls; EXTRACT_MAX_ATTEMPTS is {MAX_ATTEMPTS}"
    )


@pytest.mark.criterion("timeouts-and-retries", fails_to=2)
@pytest.mark.spec("retries.backoff")
def test_backs_off_between_attempts(app, provider):
    """waits longer before each retry (exponential backoff from EXTRACT_BACKOFF_BASE_SECONDS)"""
    provider.script(default=status(503))
    body = create(app, ["p4"])
    wait_for(app, body["id"])
    settle(provider)
    waits = gaps(calls_for(provider, "p4"))
    assert len(waits) == MAX_ATTEMPTS - 1, f"expected {MAX_ATTEMPTS - 1} retries, saw {len(waits)}"
    # At least base * 2**(n-1) before retry n, with 20 % slack for clock granularity.
    for n, wait in enumerate(waits, start=1):
        floor = BACKOFF_BASE * 2 ** (n - 1)
        assert wait >= 0.8 * floor, f"retry {n} came {wait:.3f} s after, expected >= {floor:g} s"


@pytest.mark.criterion("timeouts-and-retries", fails_to=1)
@pytest.mark.spec("retries.client-errors")
def test_fails_fast_on_client_errors(app, provider):
    """does not retry 400, 401, 403, 404 or 422: one call, then failed"""
    codes = [400, 401, 403, 404, 422]
    provider.script(*(status(c) for c in codes), default=status(400))
    papers = ["p5", "p6", "p7", "p8", "p9"]
    body = create(app, papers)
    done = wait_for(app, body["id"])
    time.sleep(2 * BACKOFF_BASE)
    settle(provider)
    for paper in papers:
        job = next(j for j in done["jobs"] if j["paper_id"] == paper)
        calls = calls_for(provider, paper)
        assert job["state"] == "failed", job
        assert len(calls) == 1, (
            f"{paper}: {len(calls)} calls after a {calls[0].status}; client errors are final"
        )


@pytest.mark.criterion("timeouts-and-retries", fails_to=2)
@pytest.mark.spec("retries.active")
def test_job_stays_active_while_it_waits_to_retry(app, provider):
    """keeps a job active while it waits to retry"""
    provider.script(status(429, retry_after=1), reply("after the wait"))
    body = create(app, ["p1"])
    assert provider.wait_until(
        lambda rs: len(rs) == 1 and rs[0].finished_at is not None, timeout=5
    ), "the job never called the model"
    waiting = status_of(app, body["id"])
    assert len(provider.requests) == 1, "retried before the Retry-After was over"
    assert waiting == "active", f"a job waiting to retry is {waiting!r}, not active"
    # That the retry then completes is test_retries_rate_limit_after_retry_after's.


def status_of(app, extraction_id):
    from jobclient import status as extraction_status

    return extraction_status(app, extraction_id)["jobs"][0]["state"]
