"""Hidden tests: the cap on active jobs, and invariants when jobs run side by side."""

import threading

import pytest
from faultkit import reply
from jobclient import (
    MAX_ACTIVE,
    Observer,
    calls_for,
    create,
    invariant_problems,
    max_overlap,
    settle,
    summary,
    wait_for,
)


@pytest.mark.criterion("concurrency", fails_to=1)
@pytest.mark.spec("cap.global")
def test_caps_active_jobs_across_extractions(app, provider):
    """never has more than EXTRACT_MAX_ACTIVE model calls in flight, across extractions"""
    provider.script(default=reply(ttft=0.2))
    first = create(app, ["p1", "p2", "p3", "p4"])
    second = create(app, ["p5", "p6", "p7", "p8"])
    wait_for(app, first["id"])
    wait_for(app, second["id"])
    settle(provider)
    peak = max_overlap(provider.requests, provider.now())
    assert len(provider.requests) == 8
    assert peak <= MAX_ACTIVE, f"{peak} model calls ran at once; EXTRACT_MAX_ACTIVE is {MAX_ACTIVE}"


@pytest.mark.criterion("concurrency", fails_to=0)
@pytest.mark.spec("cap.global", "cap.use")
def test_uses_the_allowed_parallelism(app, provider):
    """runs up to EXTRACT_MAX_ACTIVE jobs at once instead of one by one"""
    provider.script(default=reply(ttft=0.25))
    body = create(app, ["p1", "p2", "p3", "p4", "p5", "p6"])
    wait_for(app, body["id"])
    settle(provider)
    peak = max_overlap(provider.requests, provider.now())
    assert peak == MAX_ACTIVE, f"at most {peak} model calls overlapped; the cap is {MAX_ACTIVE}"


@pytest.mark.criterion("concurrency", fails_to=1)
@pytest.mark.spec("jobs.progress")
def test_no_lost_updates_when_jobs_finish_together(app, provider):
    """keeps progress exact when several jobs finish at the same moment"""
    provider.script(default=reply("same time", ttft=0.2))
    body = create(app, ["p1", "p2", "p3", "p4", "p5", "p6"])
    done = wait_for(app, body["id"], observe=Observer())
    problems = invariant_problems(done)
    assert not problems, "; ".join(problems)
    assert done["progress"]["completed"] == 6, summary(done)


@pytest.mark.criterion("concurrency", fails_to=2)
@pytest.mark.spec("cap.global", "jobs.ids")
def test_concurrent_creates(app, provider):
    """serves many users creating extractions at the same moment"""
    provider.script(default=reply(ttft=0.1))
    papers = [f"p{i}" for i in range(1, 9)]
    created: dict[str, dict] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(papers))

    def user(paper: str) -> None:
        try:
            barrier.wait(timeout=5)
            created[paper] = create(app, [paper])
        except BaseException as exc:  # reported below, in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=user, args=(p,)) for p in papers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not errors, f"a concurrent create failed: {errors[0]!r}"
    assert len({b["id"] for b in created.values()}) == len(papers), "extraction ids collided"
    for paper, body in created.items():
        done = wait_for(app, body["id"])
        assert [j["paper_id"] for j in done["jobs"]] == [paper], summary(done)
        assert done["jobs"][0]["state"] == "completed", summary(done)
        assert len(calls_for(provider, paper)) == 1
    settle(provider)
    assert max_overlap(provider.requests, provider.now()) <= MAX_ACTIVE


@pytest.mark.criterion("concurrency", fails_to=2)
@pytest.mark.spec("cap.order")
def test_queued_jobs_start_in_creation_order(app, provider):
    """starts waiting jobs in the order they were created"""
    # The first three free their slots 0.2 s apart, so the order is unambiguous.
    provider.script(
        reply(ttft=0.1).when(contains="[p1]"),
        reply(ttft=0.3).when(contains="[p2]"),
        reply(ttft=0.5).when(contains="[p3]"),
        default=reply(ttft=0.6),
    )
    papers = ["p1", "p2", "p3", "p4", "p5", "p6"]
    first = create(app, papers[:4])
    second = create(app, papers[4:])
    wait_for(app, first["id"])
    wait_for(app, second["id"])
    settle(provider)
    started = sorted(papers, key=lambda p: calls_for(provider, p)[0].started_at)
    assert started[MAX_ACTIVE:] == papers[MAX_ACTIVE:], (
        f"jobs started in the order {started}; the waiting ones should start in creation order"
    )
