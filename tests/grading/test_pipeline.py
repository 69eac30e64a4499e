"""Run tests and grade through the real pipeline: queue, sandbox, rubric, scorecard, events.

These run in embedded mode (SQLite, in-process pool, bubblewrap); the same code
path runs under Celery in tests/integration/.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from grading import queue, services
from grading.models import Scorecard, TestRun
from interviews.events import bind_loop
from interviews.models import Interview
from tests.grading.conftest import listen, put_files
from tests.requirements import require_bwrap

pytestmark = [pytest.mark.slow]


@pytest.fixture(autouse=True)
def _bwrap() -> None:
    require_bwrap()


def test_submitting_the_reference_grades_100_and_the_interview_is_graded(
    live_interview: Interview, add_metadata: Any
) -> None:
    put_files(live_interview, add_metadata.solution_files())
    run = services.grading_request(interview=live_interview, requested_by="candidate")
    assert run.state == TestRun.State.QUEUED  # returned at once, before any test ran
    queue.wait_idle()
    run.refresh_from_db()
    assert run.state == TestRun.State.PASSED, run.infra_error or run.result.get("output")
    scorecard = Scorecard.objects.get(test_run=run)
    assert scorecard.overall == 100.0
    assert scorecard.rubric_version == add_metadata.rubric.version
    evidence = [e["text"] for c in scorecard.data["criteria"] for e in c["evidence"]]
    assert "survives a provider that returns malformed JSON: yes" in evidence
    assert sorted(scorecard.data["unrated"]) == sorted(
        c.id for c in add_metadata.rubric.criteria if not c.automated
    )


def test_a_second_submit_of_the_same_files_reuses_the_run(
    live_interview: Interview, add_metadata: Any
) -> None:
    put_files(live_interview, add_metadata.solution_files())
    first = services.grading_request(interview=live_interview, requested_by="candidate")
    second = services.grading_request(interview=live_interview, requested_by="candidate")
    queue.wait_idle()
    assert first.pk == second.pk
    # A duplicate delivery of the finished run executes nothing and keeps one scorecard.
    assert services.testrun_execute(first.pk) == TestRun.State.PASSED
    assert Scorecard.objects.filter(interview=live_interview).count() == 1
    assert TestRun.objects.get(pk=first.pk).attempts == 1


def test_ending_the_interview_grades_the_starter_low(
    live_interview: Interview, add_metadata: Any
) -> None:
    from grading.services import interview_end

    interview_end(interview=live_interview, actor="ivy")
    queue.wait_idle()
    live_interview.refresh_from_db()
    assert live_interview.state == Interview.State.GRADED
    scorecard = live_interview.scorecards.get()
    assert scorecard.overall is not None and scorecard.overall < 60
    assert scorecard.test_run.state == TestRun.State.FAILED
    assert scorecard.test_run.infra_error == "", "a failing candidate is not an infra error"


@pytest.mark.parametrize("ended_by", ["interviewer", "time box"])
def test_submit_then_end_with_no_edit_in_between_grades_the_interview(
    live_interview: Interview, add_metadata: Any, ended_by: str
) -> None:
    """Issue 18: End found the finished run of the same files and never graded the interview."""
    from datetime import timedelta

    from django.utils import timezone

    from grading.services import interview_end
    from grading.tasks import end_overdue_interviews

    put_files(live_interview, add_metadata.solution_files())
    submitted = services.grading_request(interview=live_interview, requested_by="candidate")
    queue.wait_idle()
    if ended_by == "interviewer":
        interview_end(interview=live_interview, actor="ivy")
    else:
        started = timezone.now() - timedelta(minutes=live_interview.duration_minutes + 1)
        Interview.objects.filter(pk=live_interview.pk).update(started_at=started)
        assert end_overdue_interviews() == [live_interview.pk]
    queue.wait_idle()
    live_interview.refresh_from_db()
    assert live_interview.state == Interview.State.GRADED
    assert live_interview.scorecards.get().test_run_id == submitted.pk  # reused, not re-run
    assert live_interview.scorecards.get().overall == 100.0
    assert live_interview.test_runs.count() == 1


def test_end_while_the_submission_is_still_grading_grades_the_interview(
    live_interview: Interview, add_metadata: Any
) -> None:
    from grading.services import interview_end

    put_files(live_interview, add_metadata.solution_files())
    services.grading_request(interview=live_interview, requested_by="candidate")
    interview_end(interview=live_interview, actor="ivy")  # the run is queued or running
    queue.wait_idle()
    live_interview.refresh_from_db()
    assert live_interview.state == Interview.State.GRADED
    assert live_interview.scorecards.get().overall == 100.0


def test_manage_py_regrade_grades_an_interview_left_ended(
    live_interview: Interview, add_metadata: Any
) -> None:
    from django.core.management import CommandError, call_command

    from grading.selectors import grading_stuck

    put_files(live_interview, add_metadata.solution_files())
    services.grading_request(interview=live_interview, requested_by="candidate")
    queue.wait_idle()
    # How the defect left it: ended, its finished run never moved it on.
    live_interview.transition(Interview.State.ENDED)
    assert grading_stuck(live_interview)
    call_command("regrade", live_interview.pk)
    live_interview.refresh_from_db()
    assert live_interview.state == Interview.State.GRADED
    assert not grading_stuck(live_interview)
    with pytest.raises(CommandError, match="nothing to grade again"):
        call_command("regrade", live_interview.pk)


def test_interviewer_rating_recomputes_the_scorecard(
    live_interview: Interview, add_metadata: Any, personas: dict
) -> None:
    put_files(live_interview, add_metadata.solution_files())
    services.grading_request(interview=live_interview, requested_by="candidate")
    queue.wait_idle()
    rated = next(c for c in add_metadata.rubric.criteria if not c.automated)
    services.rating_set(
        interview=live_interview,
        criterion_id=rated.id,
        level=0,
        comment="did not ask a single question",
        rated_by=personas["interviewer"],
    )
    scorecard = live_interview.scorecards.get()
    assert scorecard.overall < 100
    assert rated.id not in scorecard.data["unrated"]
    with pytest.raises(ValueError, match="not an interviewer-rated criterion"):
        automated = next(c for c in add_metadata.rubric.criteria if c.automated)
        services.rating_set(
            interview=live_interview,
            criterion_id=automated.id,
            level=3,
            comment="",
            rated_by=personas["interviewer"],
        )


def test_visible_run_reports_each_test_and_is_rate_limited(
    live_interview: Interview, settings: Any
) -> None:
    settings.RUNS_PER_MINUTE = 1
    run = services.visible_run_request(interview=live_interview, requested_by="candidate")
    with pytest.raises(services.RateLimited, match="1 times a minute"):
        services.visible_run_request(interview=live_interview, requested_by="candidate")
    queue.wait_idle()
    run.refresh_from_db()
    assert run.state in {TestRun.State.PASSED, TestRun.State.FAILED}
    assert run.tests, "each visible test's outcome is recorded"
    assert all({"id", "title", "outcome"} <= set(t) for t in run.tests)


def test_oversized_submission_is_refused_with_a_clear_error(
    live_interview: Interview,
) -> None:
    from interviews.models import WorkspaceFile
    from interviews.services import MAX_FILE_BYTES, WorkspaceLimitError

    WorkspaceFile.objects.create(
        interview=live_interview, path="data/huge.txt", content="x" * (MAX_FILE_BYTES + 1)
    )
    with pytest.raises(WorkspaceLimitError, match=r"data/huge\.txt is"):
        services.grading_request(interview=live_interview, requested_by="candidate")
    assert not TestRun.objects.filter(interview=live_interview).exists()


def test_sandbox_unavailable_is_an_infrastructure_error_not_a_failure(
    live_interview: Interview, add_metadata: Any, settings: Any, monkeypatch: Any
) -> None:
    # The operator never prepared the sandbox runtime: the platform's fault, retried,
    # then reported apart from the candidate's results.
    import sandbox

    monkeypatch.setenv("FAULTLINE_SANDBOX_RUNTIME", "/nonexistent/sandbox-runtime")
    monkeypatch.setattr(sandbox, "_backends", {})  # forget the backend built with the real one
    settings.SANDBOX_BACKEND = "bwrap"
    monkeypatch.setattr(queue, "RETRY_BACKOFF_SECONDS", 0.01)
    put_files(live_interview, add_metadata.solution_files())
    run = services.grading_request(interview=live_interview, requested_by="candidate")
    queue.wait_idle()
    run.refresh_from_db()
    assert run.state == TestRun.State.ERROR
    assert run.attempts == queue.MAX_RETRIES + 1
    assert run.infra_error
    assert not Scorecard.objects.filter(test_run=run).exists()
    from grading.progress import run_view

    candidate_view = run_view(run, staff=False)
    assert "not your code's fault" in candidate_view["infra_error"]

    # Once the sandbox is back, asking again grades the same files: nothing is lost.
    monkeypatch.delenv("FAULTLINE_SANDBOX_RUNTIME")
    monkeypatch.setattr(sandbox, "_backends", {})
    again = services.grading_request(interview=live_interview, requested_by="operator")
    assert again.pk == run.pk
    queue.wait_idle()
    run.refresh_from_db()
    assert run.state == TestRun.State.PASSED and run.infra_error == ""
    assert Scorecard.objects.get(test_run=run).overall == 100.0


@pytest.mark.asyncio
async def test_progress_events_arrive_in_order_and_hidden_details_stay_with_staff(
    live_interview: Interview, add_metadata: Any
) -> None:
    bind_loop(asyncio.get_running_loop())
    staff = await listen(live_interview.pk, "staff")
    everyone = await listen(live_interview.pk, "all")
    await sync_to_async(put_files)(live_interview, add_metadata.solution_files())
    await sync_to_async(services.grading_request)(
        interview=live_interview, requested_by="candidate"
    )
    events = await staff.drain_until(lambda e: e["kind"] == "scorecard")
    states = [e["run"]["state"] for e in events if e["kind"] == "run"]
    assert states[0] == "queued" and states[1] == "running" and states[-1] == "passed"
    tests = [e for e in events if e["kind"] == "run.test"]
    final = [e for e in events if e["kind"] == "run"][-1]["run"]
    # Each test once, as it finishes (several workers finish them out of report order).
    ids = [t["test"]["id"] for t in tests]
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(t["id"] for t in final["tests"])
    assert len(tests) >= 10
    first_test = events.index(tests[0])
    last_run = max(i for i, e in enumerate(events) if e["kind"] == "run")
    running = next(i for i, e in enumerate(events) if e.get("run", {}).get("state") == "running")
    assert running < first_test < last_run, "tests tick by between started and finished"
    assert events[-1]["scorecard"]["overall"] == 100.0

    seen = await everyone.drain_until(lambda e: e["kind"] == "submitted")
    while True:  # everything the room's group was sent by the time the scorecard was out
        try:
            message = await asyncio.wait_for(everyone.layer.receive(everyone.channel), 0.3)
        except TimeoutError:
            break
        seen.append(message["event"])
    for event in seen:
        assert event["kind"] not in {"run", "run.test", "scorecard", "submission"}, event
        assert "passed" not in str(event), "the hidden outcome never reaches the candidate"
    await sync_to_async(queue.wait_idle)()
