"""Hidden tests, task 1: the extraction runs as jobs behind create and status."""

import pytest
from faultkit import reply
from jobclient import (
    FIELDS,
    STATES,
    calls_for,
    create,
    paper_of,
    settle,
    status,
    summary,
    wait_for,
)


@pytest.mark.criterion("correctness", fails_to=0)
@pytest.mark.spec("jobs.create")
def test_create_answers_before_the_work_is_done(app, provider):
    """answers POST /api/extractions at once (202) while the jobs still run"""
    provider.script(default=reply(ttft=0.4))
    body = create(app, ["p1", "p2"])
    assert [j.get("state") for j in body["jobs"]] != ["completed", "completed"], (
        "the create response already shows every job completed: it waited for the model"
    )
    for job in body["jobs"]:
        assert job.get("state") in {"pending", "active"}, f"a new job should be pending: {job}"
        assert isinstance(job.get("id"), str) and job["id"], f"a job needs a string id: {job}"
    assert len({j["id"] for j in body["jobs"]}) == 2, "job ids must be unique"
    assert body.get("progress", {}).get("total") == 2, body.get("progress")
    wait_for(app, body["id"])


@pytest.mark.criterion("correctness", fails_to=1)
@pytest.mark.spec("jobs.completed", "jobs.progress", "jobs.finished", "jobs.ids")
def test_status_reports_each_result(app, provider):
    """reports each paper's extracted text and the overall progress"""
    provider.script(default=reply("method: dense retrieval\ndataset: NQ"))
    body = create(app, ["p10", "p1", "p3"])  # not in catalog order: the jobs keep this one
    done = wait_for(app, body["id"])
    assert [j.get("paper_id") for j in done["jobs"]] == ["p10", "p1", "p3"], summary(done)
    for job in done["jobs"]:
        assert job.get("state") == "completed", job
        assert job.get("result") == "method: dense retrieval\ndataset: NQ", job
        assert job.get("error") is None, job
    progress = done.get("progress", {})
    assert progress.get("total") == 3 and progress.get("completed") == 3, progress
    assert done.get("state") == "finished", (
        f"the extraction should be finished: {done.get('state')!r}"
    )


@pytest.mark.criterion("correctness", fails_to=1)
@pytest.mark.spec("jobs.one-call")
def test_one_call_per_paper_with_its_text(app, provider):
    """makes one model call per paper, with that paper and the requested fields"""
    body = create(app, ["p2", "p5", "p7"], ["sample size", "main result"])
    wait_for(app, body["id"])
    settle(provider)
    assert sorted(filter(None, (paper_of(r) for r in provider.requests))) == ["p2", "p5", "p7"], (
        "expected exactly one provider call tagged [p2], [p5] and [p7]: "
        f"{[paper_of(r) for r in provider.requests]}"
    )
    for record in calls_for(provider, "p5"):
        text = str(record.body)
        assert "sample size" in text and "main result" in text, "the fields are not in the prompt"


@pytest.mark.criterion("correctness", fails_to=2)
@pytest.mark.spec("jobs.failed", "jobs.finished")
def test_failed_job_says_why(app, provider):
    """marks a job failed with an error message, and its extraction finished, when the call fails"""
    from faultkit import status as provider_status

    provider.script(provider_status(401))
    body = create(app, ["p4"])
    done = wait_for(app, body["id"])
    job = done["jobs"][0]
    assert job.get("state") == "failed", job
    assert isinstance(job.get("error"), str) and job["error"].strip(), job
    assert job.get("result") is None, job
    assert done.get("state") == "finished", (
        f"every job is final (one failed), so the extraction is finished: {done.get('state')!r}"
    )


@pytest.mark.criterion("correctness", fails_to=2)
@pytest.mark.spec("jobs.status-404")
def test_unknown_extraction_is_404(app, provider):
    """answers 404 for an extraction that does not exist"""
    assert app.get("/api/extractions/no-such-id").status_code == 404


@pytest.mark.criterion("correctness", fails_to=2)
@pytest.mark.spec("jobs.create-422")
@pytest.mark.parametrize(
    "body, what",
    [
        pytest.param(
            {"paper_ids": ["p1", "p999"], "fields": FIELDS}, "an unknown paper", id="unknown"
        ),
        pytest.param(
            {"paper_ids": ["p1", "p1"], "fields": FIELDS}, "a paper listed twice", id="twice"
        ),
        pytest.param({"paper_ids": [], "fields": FIELDS}, "no papers", id="no-papers"),
        pytest.param({"paper_ids": ["p1"], "fields": []}, "no fields", id="no-fields"),
    ],
)
def test_bad_input_is_422(app, provider, body, what):
    """answers 422 for bad input (an unknown or repeated paper, no papers, no fields) and
    starts nothing"""
    bad = app.post("/api/extractions", json=body)
    assert bad.status_code == 422, f"{what}: {bad.status_code} {bad.text[:200]}"
    assert provider.requests == [], "a rejected request must not call the model"


@pytest.mark.criterion("correctness", fails_to=1)
@pytest.mark.spec("jobs.shape", "jobs.states")
def test_status_shape(app, provider):
    """gives every job an id, paper_id, state, result and error, and a progress object"""
    body = create(app, ["p6"])
    done = wait_for(app, body["id"])
    assert status(app, body["id"])["jobs"] == done["jobs"], "a finished extraction changed"
    job = done["jobs"][0]
    missing = {"id", "paper_id", "state", "result", "error"} - set(job)
    assert not missing, f"the job lacks {sorted(missing)}: {job}"
    assert set(STATES) | {"total"} <= set(done.get("progress", {})), done.get("progress")
