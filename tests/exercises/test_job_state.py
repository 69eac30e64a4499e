"""The job-state hidden suite's own instruments, checked on the host in seconds
(`python -m exercises check job-state` proves the suite end to end in a sandbox)."""

from __future__ import annotations

import importlib
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from exercises import catalog
from exercises.faultkit import RequestRecord

EXERCISE = Path(__file__).resolve().parents[2] / "exercises" / "job-state"


@pytest.fixture(scope="module")
def jobclient() -> ModuleType:
    # The hidden suite imports the kit as the top-level package `faultkit`, as in a sandbox.
    sys.modules.setdefault("faultkit", importlib.import_module("exercises.faultkit"))
    spec = importlib.util.spec_from_file_location(
        "job_state_jobclient", EXERCISE / "tests" / "hidden" / "jobclient.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record(rid: int, start: float, end: float | None, paper: str = "p1") -> RequestRecord:
    body = {"messages": [{"role": "user", "content": f"[{paper}] A paper\n\nFields: method"}]}
    return RequestRecord(
        id=rid,
        method="POST",
        path="/v1/chat/completions",
        body=body,
        stream=False,
        step="reply",
        started_at=start,
        finished_at=end,
    )


def test_grading_env_matches_what_the_hidden_tests_assume(jobclient: ModuleType) -> None:
    env = dict(catalog.find("job-state").app.env)
    assert int(env["EXTRACT_MAX_ACTIVE"]) == jobclient.MAX_ACTIVE
    assert int(env["EXTRACT_MAX_ATTEMPTS"]) == jobclient.MAX_ATTEMPTS
    assert float(env["EXTRACT_JOB_TIMEOUT_SECONDS"]) == jobclient.JOB_TIMEOUT
    assert float(env["EXTRACT_BACKOFF_BASE_SECONDS"]) == jobclient.BACKOFF_BASE


def test_overlap_counts_calls_in_flight_together(jobclient: ModuleType) -> None:
    calls = [record(1, 0.0, 1.0), record(2, 0.1, 0.5), record(3, 0.2, None), record(4, 2.0, 3.0)]
    assert jobclient.max_overlap(calls, now=5.0) == 3
    # A call that starts as another ends (within the provider's bookkeeping lag) is not
    # counted as overlapping: the cap is respected there.
    back_to_back = [record(1, 0.0, 0.3), record(2, 0.29, 0.6), record(3, 0.59, 0.9)]
    assert jobclient.max_overlap(back_to_back, now=1.0) == 1


def test_calls_are_attributed_by_the_paper_tag(jobclient: ModuleType) -> None:
    assert jobclient.paper_of(record(1, 0, 1, paper="p10")) == "p10"
    untagged = record(2, 0, 1)
    untagged.body = {"messages": [{"role": "user", "content": "no tag here"}]}
    assert jobclient.paper_of(untagged) is None


def status(states: list[str], progress: dict[str, int]) -> dict[str, Any]:
    jobs = [{"id": f"j{i}", "paper_id": f"p{i}", "state": s} for i, s in enumerate(states)]
    return {"jobs": jobs, "progress": progress}


def test_invariants_catch_double_counted_jobs(jobclient: ModuleType) -> None:
    ok = status(
        ["cancelled", "completed"],
        {"total": 2, "pending": 0, "active": 0, "completed": 1, "failed": 0, "cancelled": 1},
    )
    assert jobclient.invariant_problems(ok) == []
    # The loose-flags bug: a cancelled job still counted as pending.
    double = status(
        ["cancelled", "completed"],
        {"total": 2, "pending": 1, "active": 0, "completed": 1, "failed": 0, "cancelled": 1},
    )
    problems = jobclient.invariant_problems(double)
    assert "progress.pending is 1 but 0 jobs are pending" in problems
    assert "the state counts add up to 3, not 2" in problems


def test_observer_refuses_a_job_leaving_a_final_state(jobclient: ModuleType) -> None:
    observe = jobclient.Observer(check_counts=False)
    observe(status(["active"], {}))
    observe(status(["cancelled"], {}))
    with pytest.raises(AssertionError, match="left its terminal state"):
        observe(status(["completed"], {}))
    backwards = jobclient.Observer(check_counts=False)
    backwards(status(["active"], {}))
    with pytest.raises(AssertionError, match="went back"):
        backwards(status(["pending"], {}))


def test_reference_page_escapes_what_the_server_sends() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = EXERCISE / "solution" / "static" / "app.js"
    job = {"id": "j1", "paper_id": "<i>p1</i>", "state": "failed", "error": "<img src=x>"}
    code = (
        f"const m = require({json.dumps(str(script))});"
        f"process.stdout.write(m.renderExtraction({json.dumps({'jobs': [job]})}));"
    )
    html = subprocess.run(
        [node, "-e", code], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    assert "&lt;img src=x&gt;" in html and "<img" not in html
    assert "&lt;i&gt;p1&lt;/i&gt;" in html
