"""Visible tests: run them from the editor. The hidden suite checks much more."""

import time

from faultkit import reply


def wait_finished(app, extraction_id, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        body = app.get(f"/api/extractions/{extraction_id}").json()
        if all(j["state"] in {"completed", "failed", "cancelled"} for j in body["jobs"]):
            return body
        assert time.monotonic() < deadline, f"jobs still running: {body}"
        time.sleep(0.1)


def test_create_returns_jobs(app, provider):
    """POST /api/extractions answers 202 with one job per paper"""
    response = app.post("/api/extractions", json={"paper_ids": ["p1", "p2"], "fields": ["method"]})
    assert response.status_code == 202
    body = response.json()
    assert [j["paper_id"] for j in body["jobs"]] == ["p1", "p2"]
    wait_finished(app, body["id"])


def test_jobs_complete(app, provider):
    """the status shows each job completed with the model's text"""
    provider.script(default=reply("method: retrieval"))
    body = app.post("/api/extractions", json={"paper_ids": ["p3"], "fields": ["method"]}).json()
    done = wait_finished(app, body["id"])
    assert done["jobs"][0]["state"] == "completed"
    assert done["jobs"][0]["result"] == "method: retrieval"
    assert done["progress"]["completed"] == 1
