"""Hidden tests: cancelling an extraction or one job really stops the work."""

import time

import pytest
from faultkit import reply
from jobclient import (
    MAX_ACTIVE,
    calls_for,
    cancel,
    cancel_job,
    cancel_supported,
    create,
    job_for,
    summary,
    wait_for,
)

LONG = 6.0  # provider answers that would arrive long after the cancel


def require_cancel(app, provider):
    # Fail before starting minutes of work that nothing could stop.
    if not cancel_supported(app, provider):
        pytest.fail("POST /api/extractions/{id}/cancel is not there", pytrace=False)


@pytest.mark.criterion("cancellation-and-cleanup", fails_to=0)
@pytest.mark.spec("cancel.extraction", "cancel.stops")
def test_cancel_stops_active_and_queued_jobs(app, provider):
    """cancelling an extraction closes its running model calls and never starts the queued ones"""
    require_cancel(app, provider)
    provider.script(default=reply(ttft=LONG))
    papers = ["p1", "p2", "p3", "p4", "p5"]
    body = create(app, papers)
    assert provider.wait_until(lambda rs: len(rs) == MAX_ACTIVE, timeout=5), "no job started"
    response = cancel(app, body["id"])
    assert response.status_code == 200, f"cancel answered {response.status_code}"
    # What the response shows is test_cancel_keeps_finished_results_and_is_idempotent's:
    # here, whether the work really stops.
    closed = provider.wait_until(lambda rs: all(r.finished_at is not None for r in rs), timeout=1.0)
    assert closed, "the cancelled jobs' model calls were left running: " + ", ".join(
        f"{r.id}:{r.outcome}" for r in provider.requests
    )
    assert all(r.outcome == "disconnected" for r in provider.requests), [
        r.outcome for r in provider.requests
    ]
    time.sleep(0.3)
    assert len(provider.requests) == MAX_ACTIVE, "a queued job called the model after the cancel"
    assert {j["state"] for j in wait_for(app, body["id"])["jobs"]} == {"cancelled"}


@pytest.mark.criterion("cancellation-and-cleanup", fails_to=2)
@pytest.mark.spec("cancel.job")
def test_cancel_one_job(app, provider):
    """cancelling one job stops its model call and leaves the others running"""
    require_cancel(app, provider)
    provider.script(default=reply("kept", ttft=0.5))
    body = create(app, ["p1", "p2", "p3"])
    assert provider.wait_until(lambda rs: len(rs) == 3, timeout=5)
    target = job_for(body, "p2")
    response = cancel_job(app, body["id"], target["id"])
    assert response.status_code == 200, f"job cancel answered {response.status_code}"
    assert response.json().get("state") == "cancelled", response.json()
    assert provider.wait_until(
        lambda rs: all(r.finished_at is not None for r in rs if r in calls_for(provider, "p2")),
        timeout=3,
    ), "the cancelled job's model call is still running"
    assert calls_for(provider, "p2")[0].outcome == "disconnected"
    done = wait_for(app, body["id"])
    assert [j["state"] for j in done["jobs"]] == ["completed", "cancelled", "completed"], summary(
        done
    )
    assert job_for(done, "p1")["result"] == "kept"


@pytest.mark.criterion("cancellation-and-cleanup", fails_to=1)
@pytest.mark.spec("cancel.stops")
def test_cancel_frees_slots_for_other_work(app, provider):
    """after a cancel, other extractions get the freed slots right away"""
    require_cancel(app, provider)
    provider.script(*(reply(ttft=LONG) for _ in range(MAX_ACTIVE)), default=reply("next"))
    first = create(app, [f"p{i}" for i in range(1, MAX_ACTIVE + 1)])
    assert provider.wait_until(lambda rs: len(rs) == MAX_ACTIVE, timeout=5)
    assert cancel(app, first["id"]).status_code == 200
    second = create(app, ["p10", "p11"])
    # Well before the cancelled calls would have answered (LONG) or timed out.
    done = wait_for(app, second["id"], timeout=1.5, what="the next extraction to run")
    assert {j["state"] for j in done["jobs"]} == {"completed"}, summary(done)


@pytest.mark.criterion("cancellation-and-cleanup", fails_to=2)
@pytest.mark.spec("cancel.extraction", "cancel.finished", "cancel.idempotent")
def test_cancel_keeps_finished_results_and_is_idempotent(app, provider):
    """cancelling keeps finished results, and cancelling twice changes nothing"""
    require_cancel(app, provider)
    provider.script(reply("finished first", ttft=0.0), default=reply(ttft=LONG))
    body = create(app, ["p1"])
    wait_for(app, body["id"])
    more = create(app, ["p2", "p3"])
    assert provider.wait_until(lambda rs: len(rs) == 3, timeout=5)
    first = cancel(app, more["id"])
    second = cancel(app, more["id"])
    assert first.status_code == 200 and second.status_code == 200
    shown = [j["state"] for j in first.json()["jobs"]]
    assert shown == ["cancelled", "cancelled"], f"the cancel response shows {shown}"
    assert [j["state"] for j in second.json()["jobs"]] == ["cancelled", "cancelled"]
    assert cancel(app, body["id"]).status_code == 200
    kept = job_for(wait_for(app, body["id"]), "p1")
    assert (kept["state"], kept["result"]) == ("completed", "finished first"), kept


@pytest.mark.criterion("cancellation-and-cleanup", fails_to=2)
@pytest.mark.spec("cancel.404")
def test_cancel_of_unknown_ids_is_404(app, provider):
    """answers 404 when cancelling an unknown extraction or job"""
    require_cancel(app, provider)
    assert cancel(app, "no-such-id").status_code == 404
    body = create(app, ["p1"])
    wait_for(app, body["id"])
    assert cancel_job(app, body["id"], "no-such-job").status_code == 404
    assert cancel_job(app, "no-such-id", body["jobs"][0]["id"]).status_code == 404


@pytest.mark.criterion("cancellation-and-cleanup", fails_to=2)
@pytest.mark.spec("cancel.job-409")
def test_cancel_of_a_finished_job_is_409(app, provider):
    """refuses to cancel a job that already finished (409) and leaves it as it was"""
    require_cancel(app, provider)
    provider.script(reply("already done"))
    body = create(app, ["p1"])
    job = wait_for(app, body["id"])["jobs"][0]
    response = cancel_job(app, body["id"], job["id"])
    assert response.status_code == 409, f"cancelling a finished job answered {response.status_code}"
    kept = job_for(wait_for(app, body["id"]), "p1")
    assert (kept["state"], kept["result"]) == ("completed", "already done"), kept
