"""Hidden tests: stuck jobs time out, release their slot and their upstream request."""

import pytest
from faultkit import hang, reply
from jobclient import JOB_TIMEOUT, MAX_ACTIVE, calls_for, create, wait_for


@pytest.mark.criterion("timeouts-and-retries")
def test_stuck_jobs_time_out_and_free_their_slots(app, provider):
    """fails jobs whose provider never answers, closes those calls, and runs the queued jobs"""
    provider.script(*(hang() for _ in range(MAX_ACTIVE)), default=reply("queued one", ttft=0.05))
    stuck = [f"p{i}" for i in range(1, MAX_ACTIVE + 1)]
    queued = ["p10", "p11"]
    body = create(app, stuck + queued)
    done = wait_for(app, body["id"], timeout=JOB_TIMEOUT + 8, what="the stuck jobs to time out")
    for paper in stuck:
        job = next(j for j in done["jobs"] if j["paper_id"] == paper)
        assert job["state"] == "failed", f"a job whose provider hangs should fail: {job}"
        assert isinstance(job.get("error"), str) and job["error"], job
    assert provider.wait_until(
        lambda rs: all(r.finished_at is not None for r in rs if r.step == "hang"), timeout=3
    ), "the app gave up on the job but left its provider request open"
    # The queued jobs waited longer than the timeout for a slot: waiting is not being stuck.
    for paper in queued:
        job = next(j for j in done["jobs"] if j["paper_id"] == paper)
        assert job["state"] == "completed", f"a queued job should run once a slot frees: {job}"


@pytest.mark.criterion("timeouts-and-retries")
def test_slow_answer_within_the_deadline_completes(app, provider):
    """lets a slow but healthy answer finish inside EXTRACT_JOB_TIMEOUT_SECONDS"""
    provider.script(reply("slow but fine", ttft=JOB_TIMEOUT * 0.3))
    body = create(app, ["p12"])
    job = wait_for(app, body["id"])["jobs"][0]
    assert job["state"] == "completed", job
    assert job["result"] == "slow but fine"
    assert len(calls_for(provider, "p12")) == 1, "a slow answer is not a reason to call again"
