"""Helpers for the job-state hidden tests: drive the HTTP contract, read the provider log.

The app is started by the manifest with EXTRACT_MAX_ACTIVE=3, EXTRACT_MAX_ATTEMPTS=3,
EXTRACT_JOB_TIMEOUT_SECONDS=2 and EXTRACT_BACKOFF_BASE_SECONDS=0.1 (keep in sync with
exercise.toml). Upstream calls are attributed to papers by the `[p3]` tag that the
prompt carries (app/extraction.py); no routing in the provider is needed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest
from faultkit import FakeProvider, RequestRecord

MAX_ACTIVE = 3
MAX_ATTEMPTS = 3
JOB_TIMEOUT = 2.0
BACKOFF_BASE = 0.1

STATES = ("pending", "active", "completed", "failed", "cancelled")
TERMINAL = frozenset({"completed", "failed", "cancelled"})
RANK = {"pending": 0, "active": 1, "completed": 2, "failed": 2, "cancelled": 2}
RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})
FIELDS = ["method", "dataset"]
# A request's end is taken this much early when counting overlaps: the provider stamps
# its own bookkeeping a loop iteration after the app already has the answer.
OVERLAP_SLACK = 0.05
_TAG = re.compile(r"\[(p\d+)\]")

Status = dict[str, Any]

# Extractions created by the running test; conftest.py stops any left running so that
# one test's leftover work never reaches the next test's provider script.
CREATED: list[str] = []


def create(app: httpx.Client, paper_ids: list[str], fields: list[str] | None = None) -> Status:
    response = app.post(
        "/api/extractions", json={"paper_ids": paper_ids, "fields": fields or FIELDS}
    )
    assert response.status_code == 202, (
        f"POST /api/extractions should answer 202 Accepted, got {response.status_code}: "
        f"{response.text[:300]}"
    )
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("id"), str), (
        f"the created extraction has no string id: {str(body)[:300]}"
    )
    jobs = body.get("jobs")
    assert isinstance(jobs, list) and [j.get("paper_id") for j in jobs] == paper_ids, (
        f"expected one job per paper, in order {paper_ids}: {str(body)[:300]}"
    )
    CREATED.append(body["id"])
    return body


def status(app: httpx.Client, extraction_id: str) -> Status:
    response = app.get(f"/api/extractions/{extraction_id}")
    assert response.status_code == 200, (
        f"GET /api/extractions/{extraction_id} answered {response.status_code}: "
        f"{response.text[:300]}"
    )
    body: Status = response.json()
    assert isinstance(body.get("jobs"), list), f"the status has no jobs list: {str(body)[:300]}"
    return body


def cancel(app: httpx.Client, extraction_id: str) -> httpx.Response:
    return app.post(f"/api/extractions/{extraction_id}/cancel")


def cancel_job(app: httpx.Client, extraction_id: str, job_id: str) -> httpx.Response:
    return app.post(f"/api/extractions/{extraction_id}/jobs/{job_id}/cancel")


# A cancel route that is not there yet answers 404 (or 405). Tests of other criteria that
# use cancel then skip, so a candidate who has not reached task 5 loses points only there.
NOT_THERE = frozenset({404, 405})
NO_CANCEL = "the cancel endpoints are not there yet (task 5)"


def cancel_supported(app: httpx.Client, provider: FakeProvider) -> bool:
    """Probe cancel on a small finished extraction before starting long work.

    Call it before scripting the provider: it resets the provider's log and script.
    """
    probe = create(app, ["p12"])
    wait_for(app, probe["id"])
    supported = cancel(app, probe["id"]).status_code not in NOT_THERE
    provider.reset()
    return supported


def finished(body: Status) -> bool:
    return all(j.get("state") in TERMINAL for j in body["jobs"])


def wait_for(
    app: httpx.Client,
    extraction_id: str,
    predicate: Callable[[Status], bool] = finished,
    *,
    timeout: float = 10.0,
    what: str = "every job to finish",
    observe: Callable[[Status], None] | None = None,
) -> Status:
    """Poll the status until `predicate` holds; fail with the last status after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        body = status(app, extraction_id)
        if observe is not None:
            observe(body)
        if predicate(body):
            return body
        if time.monotonic() > deadline:
            pytest.fail(
                f"waited {timeout:g} s for {what}; last status: {summary(body)}", pytrace=False
            )
        time.sleep(0.05)


def summary(body: Status) -> str:
    jobs = ", ".join(f"{j.get('paper_id')}={j.get('state')}" for j in body.get("jobs", []))
    return f"jobs [{jobs}] progress {body.get('progress')}"


def job_for(body: Status, paper_id: str) -> dict[str, Any]:
    for job in body["jobs"]:
        if job.get("paper_id") == paper_id:
            return dict(job)
    raise AssertionError(f"no job for paper {paper_id}: {summary(body)}")


def invariant_problems(body: Status) -> list[str]:
    """What is wrong with one status snapshot: unknown states, counts that do not add up."""
    problems = []
    jobs = body["jobs"]
    for job in jobs:
        if job.get("state") not in STATES:
            problems.append(f"job {job.get('paper_id')} has state {job.get('state')!r}")
    progress = body.get("progress")
    if not isinstance(progress, dict):
        return [*problems, f"progress is not an object: {progress!r}"]
    if progress.get("total") != len(jobs):
        problems.append(f"progress.total is {progress.get('total')!r} for {len(jobs)} jobs")
    counted = 0
    for state in STATES:
        actual = sum(1 for j in jobs if j.get("state") == state)
        reported = progress.get(state)
        if reported != actual:
            problems.append(f"progress.{state} is {reported!r} but {actual} jobs are {state}")
        if isinstance(reported, int):
            counted += reported
    if counted != len(jobs):
        problems.append(f"the state counts add up to {counted}, not {len(jobs)}")
    return problems


class Observer:
    """Checks every status it sees: invariants, and that no job ever moves backwards
    or leaves a terminal state."""

    def __init__(self, check_counts: bool = True) -> None:
        self.check_counts = check_counts
        self.seen: dict[str, dict[str, Any]] = {}  # job id -> last snapshot of that job

    def __call__(self, body: Status) -> None:
        if self.check_counts:
            problems = invariant_problems(body)
            assert not problems, "; ".join(problems) + f" -- {summary(body)}"
        for job in body["jobs"]:
            self.job(job)

    def job(self, job: dict[str, Any]) -> None:
        key = str(job.get("id"))
        before = self.seen.get(key)
        if before is not None:
            if before["state"] in TERMINAL:
                assert (job.get("state"), job.get("result")) == (
                    before["state"],
                    before.get("result"),
                ), f"job {job.get('paper_id')} left its terminal state: {before} then {job}"
            assert RANK.get(job.get("state"), -1) >= RANK[before["state"]], (
                f"job {job.get('paper_id')} went back from {before['state']} to {job.get('state')}"
            )
        if job.get("state") in RANK:
            self.seen[key] = dict(job)


def paper_of(record: RequestRecord) -> str | None:
    """The paper an upstream extraction call was about (its `[p3]` tag)."""
    body = record.body if isinstance(record.body, dict) else {}
    messages = body.get("messages") if isinstance(body.get("messages"), list) else []
    tags: set[str] = set()
    for message in messages:
        if isinstance(message, dict) and message.get("role") == "user":
            tags.update(_TAG.findall(str(message.get("content", ""))))
    return tags.pop() if len(tags) == 1 else None


def calls_for(provider: FakeProvider, paper_id: str) -> list[RequestRecord]:
    return sorted(
        (r for r in provider.requests if paper_of(r) == paper_id), key=lambda r: r.started_at
    )


def end_of(record: RequestRecord, now: float) -> float:
    ends = [t for t in (record.disconnected_at, record.finished_at) if t is not None]
    return min(ends) if ends else now


def max_overlap(records: Iterable[RequestRecord], now: float) -> int:
    """The largest number of upstream calls that were in flight at the same moment."""
    events: list[tuple[float, int]] = []
    for r in records:
        end = max(r.started_at, end_of(r, now) - OVERLAP_SLACK)
        events += [(r.started_at, 1), (end, -1)]
    live = peak = 0
    for _, delta in sorted(events, key=lambda e: (e[0], e[1])):
        live += delta
        peak = max(peak, live)
    return peak


def settle(provider: FakeProvider, timeout: float = 5.0) -> bool:
    """Wait until no upstream call is in flight."""
    return provider.wait_until(
        lambda rs: all(r.finished_at is not None for r in rs), timeout=timeout
    )
