"""Workflows of the grading pipeline: request a run, execute it, score it.

Requests create an immutable Snapshot and a TestRun and enqueue the work after
the transaction commits, returning at once. Execution is idempotent: a run
that already finished is never executed again, and a hidden run produces at
most one scorecard.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from faultline.holders import is_local, process_is_gone, this_process
from grading import engine, progress, queue, selectors
from grading.models import Rating, Scorecard, Snapshot, TestRun
from interviews import events
from interviews.models import IllegalTransition, Interview, TimelineEvent
from interviews.workspace import workspace_check, workspace_files

log = logging.getLogger(__name__)

# A run whose holder has not been heard from for this long is presumed dead
# and may be taken over by a redelivered task.
LEASE_SECONDS = 60


class RateLimited(Exception):
    """Too many runs in a short time; the message is for the candidate."""


class InfrastructureError(Exception):
    """The platform could not run the tests (retried; never the candidate's fault)."""


def _snapshot(interview: Interview) -> Snapshot:
    files = workspace_files(interview)
    workspace_check(files)
    return Snapshot.of(files)


def visible_run_request(*, interview: Interview, requested_by: str) -> TestRun:
    """The candidate's "Run tests": snapshot the workspace, queue the visible suite."""
    with transaction.atomic():
        locked = Interview.objects.select_for_update().get(pk=interview.pk)
        if locked.state != Interview.State.LIVE:
            raise IllegalTransition("tests can only be run while the interview is live")
        window = timezone.now() - timedelta(minutes=1)
        recent = locked.test_runs.filter(kind=TestRun.Kind.VISIBLE, created_at__gte=window)
        if recent.count() >= settings.RUNS_PER_MINUTE:
            raise RateLimited(
                f"You can run the tests {settings.RUNS_PER_MINUTE} times a minute; "
                "wait a few seconds and try again."
            )
        run = TestRun.objects.create(
            interview=locked,
            snapshot=_snapshot(locked),
            kind=TestRun.Kind.VISIBLE,
            suite_version=locked.exercise_version,
            requested_by=requested_by,
        )
        events.record(locked, TimelineEvent.Kind.RUN, actor=requested_by, data={"run": run.pk})
        progress.announce(run)
        queue.enqueue_after_commit(run.pk)
    return run


def grading_request(*, interview: Interview, requested_by: str) -> TestRun:
    """Submit (or the end of the interview): queue the hidden suite on the workspace as it is.

    Idempotent: the same files under the same suite version are graded once. A
    run the platform gave up on (state error) is queued again: infrastructure
    failures must never cost the candidate their grade. A run that already
    finished (a Submit just before End) grades an ended interview at once: its
    scorecard is the interview's, so End always leads to one.
    """
    with transaction.atomic():
        snapshot = _snapshot(interview)
        run, created = TestRun.objects.get_or_create(
            interview=interview,
            snapshot=snapshot,
            kind=TestRun.Kind.HIDDEN,
            suite_version=interview.exercise_version,
            defaults={"requested_by": requested_by},
        )
        if created:
            events.record(
                interview,
                TimelineEvent.Kind.SUBMITTED,
                actor=requested_by,
                data={"run": run.pk, "snapshot": snapshot.digest},
            )
            progress.announce(run)
            queue.enqueue_after_commit(run.pk)
        elif run.state == TestRun.State.ERROR:
            run = TestRun.objects.select_for_update().get(pk=run.pk)
            if run.state == TestRun.State.ERROR:
                run.state = TestRun.State.QUEUED
                run.infra_error = ""
                run.finished_at = None
                run.save(update_fields=["state", "infra_error", "finished_at"])
                progress.announce(run)
                queue.enqueue_after_commit(run.pk)
        elif run.state in {TestRun.State.PASSED, TestRun.State.FAILED}:
            ended = Interview.objects.filter(pk=interview.pk, state=Interview.State.ENDED)
            if ended.exists():
                _score_finished(run)
        # A queued or running run moves an ended interview on when it finishes (_score).
    return run


def interview_end(*, interview: Interview, actor: str) -> Interview:
    """End the interview and enqueue final grading of the workspace as it is now.

    Here, not in interviews: ending is the start of grading, and interviews (a
    lower layer) never imports grading.
    """
    with transaction.atomic():
        interview = interview.transition(Interview.State.ENDED)
        events.record(interview, TimelineEvent.Kind.ENDED, actor=actor)
        grading_request(interview=interview, requested_by=actor)
    return interview


def interviews_end_overdue() -> list[int]:
    """End live interviews whose time box has run out (which enqueues their grading)."""
    ended = []
    for interview in Interview.objects.filter(state=Interview.State.LIVE):
        deadline = interview.deadline
        if deadline is not None and deadline <= timezone.now():
            try:
                interview_end(interview=interview, actor="timer")
            except IllegalTransition:
                continue  # the interviewer ended it in the meantime
            except Exception:  # one interview that cannot end must not keep the others live
                log.exception("interview %s: ending it at its deadline failed", interview.pk)
                continue
            ended.append(interview.pk)
    return ended


def _score_finished(run: TestRun) -> None:
    """Score an ended interview with a run that finished before it ended."""
    try:
        with transaction.atomic():
            _score(run, run.result.get("report"))
    except Exception as exc:  # End must not fail because the scorer did: staff see it instead
        log.exception("run %s: scoring failed", run.pk)
        run.state = TestRun.State.ERROR
        run.infra_error = f"scoring failed: {type(exc).__name__}: {exc}"
        run.save(update_fields=["state", "infra_error"])
        progress.announce(run)


def grading_retry(*, interview: Interview, requested_by: str) -> TestRun:
    """ "Grade again": the console's, /review/'s and `manage.py regrade`'s one way out.

    For an ended interview that has no scorecard (its grading failed, or was
    never started or lost), and for a graded one whose latest grading failed.
    A graded submission is final: anything else is refused with the reason.
    grading_request is idempotent per snapshot, so retrying the same files
    re-queues (or re-scores) the same run instead of adding one.
    """
    interview.refresh_from_db(fields=["state"])
    if interview.state not in {Interview.State.ENDED, Interview.State.GRADED}:
        raise IllegalTransition("Grading can be run again only after the interview has ended.")
    latest = (
        interview.test_runs.filter(kind=TestRun.Kind.HIDDEN).order_by("-created_at", "-pk").first()
    )
    failed = latest is not None and latest.state == TestRun.State.ERROR
    if interview.state == Interview.State.GRADED and not failed:
        raise IllegalTransition("There is nothing to grade again: the last grading did not fail.")
    if latest is not None and selectors.run_is_lost(latest):
        # Its worker died without a trace (a lost message): hand it to a new one.
        testrun_release(latest.pk)
        queue.enqueue_after_commit(latest.pk)
        latest.refresh_from_db()
        return latest
    if latest is not None and not latest.finished:
        raise IllegalTransition("The interview is being graded already; wait for the scorecard.")
    return grading_request(interview=interview, requested_by=requested_by)


def _holder_is_dead(holder: str, heartbeat_at: Any) -> bool:
    if is_local(holder):
        return process_is_gone(holder)  # the process that held it is gone: take over now
    # Another host: only a stale heartbeat tells us it died.
    return heartbeat_at is None or timezone.now() - heartbeat_at > timedelta(seconds=LEASE_SECONDS)


def _claim(run_id: int) -> TestRun | None:
    """Mark the run as ours, or None when it is finished or held by a live worker."""
    with transaction.atomic():
        run = TestRun.objects.select_for_update().select_related("interview").get(pk=run_id)
        if run.finished:
            return None
        holder = run.result.get("holder")
        if run.state == TestRun.State.RUNNING and holder and holder != this_process():
            if not _holder_is_dead(holder, run.heartbeat_at):
                return None  # a duplicate delivery while the first is still working
        run.state = TestRun.State.RUNNING
        run.attempts += 1
        run.started_at = run.heartbeat_at = timezone.now()
        run.tests = []
        run.result = {**run.result, "holder": this_process()}
        run.save(
            update_fields=["state", "attempts", "started_at", "heartbeat_at", "tests", "result"]
        )
        progress.announce(run)
        progress.announce_queue()
    return run


def testrun_release(run_id: int) -> None:
    """Put a run back in the queue after a failure of ours, so any worker may retry it."""
    with transaction.atomic():
        run = TestRun.objects.select_for_update().get(pk=run_id)
        if run.finished:
            return
        run.state = TestRun.State.QUEUED
        run.result = {k: v for k, v in run.result.items() if k != "holder"}
        run.save(update_fields=["state", "result"])
        progress.announce(run)


def testrun_execute(run_id: int) -> str:
    """Run a queued TestRun in the sandbox and store its outcome. Returns the final state.

    Raises InfrastructureError when the platform failed, so the caller retries;
    a candidate's failing code is a normal outcome and is never retried.
    """
    claimed = _claim(run_id)
    if claimed is None:
        return TestRun.objects.get(pk=run_id).state
    run = claimed
    interview = run.interview

    def on_test(test: dict[str, Any]) -> None:
        # Called from the sandbox reader as each test finishes.
        TestRun.objects.filter(pk=claimed.pk).update(heartbeat_at=timezone.now())
        claimed.tests.append(test)
        progress.one_test_finished(claimed, test)

    try:
        outcome = engine.run_suite(
            exercise=interview.exercise,
            kind=run.kind,
            files=run.snapshot.files,
            on_test=on_test,
        )
    except (engine.EngineInfrastructureError, SoftTimeLimitExceeded) as exc:
        testrun_release(run.pk)
        raise InfrastructureError(str(exc) or type(exc).__name__) from exc

    with transaction.atomic():
        run = TestRun.objects.select_for_update().get(pk=run.pk)
        if run.finished:
            return run.state
        run.tests = outcome.tests
        run.result = {**outcome.result, "holder": run.result.get("holder")}
        run.state = TestRun.State.PASSED if outcome.passed else TestRun.State.FAILED
        run.finished_at = timezone.now()
        if _records_what_ran(run, outcome.suite_version):
            run.suite_version = outcome.suite_version
        run.save(update_fields=["tests", "result", "state", "finished_at", "suite_version"])
        events.record(
            interview,
            TimelineEvent.Kind.RUN_RESULT,
            actor="faultline",
            audience=(
                TimelineEvent.Audience.ALL
                if run.kind == TestRun.Kind.VISIBLE
                else TimelineEvent.Audience.STAFF
            ),
            data={"run": run.pk, "state": run.state, "summary": outcome.summary},
            notify=False,
        )
        progress.announce(run)
        if run.kind == TestRun.Kind.HIDDEN:
            _score(run, outcome.report)
    return run.state


def _records_what_ran(run: TestRun, ran: str) -> bool:
    """Whether the run may be labelled with the suite version that actually ran.

    The label given at request time is the exercise's version when the interview
    was made; the files on disk may have changed since (a fixed hidden test, a
    new kit). The run keeps what ran, so an old run never takes a new label.
    Not when another grading of these files already holds that label (the
    one-grading-per-version rule): then the ran version stays in result.sandbox.
    """
    if not ran or ran == run.suite_version:
        return False
    if run.kind != TestRun.Kind.HIDDEN:
        return True
    taken = TestRun.objects.filter(
        interview_id=run.interview_id,
        snapshot_id=run.snapshot_id,
        kind=TestRun.Kind.HIDDEN,
        suite_version=ran,
    ).exclude(pk=run.pk)
    return not taken.exists()


def testrun_give_up(run_id: int, reason: str) -> None:
    """Record that the platform could not run this test run (after the retry budget)."""
    with transaction.atomic():
        run = TestRun.objects.select_for_update().get(pk=run_id)
        if run.finished:
            return
        run.state = TestRun.State.ERROR
        run.infra_error = reason
        run.finished_at = timezone.now()
        run.save(update_fields=["state", "infra_error", "finished_at"])
        progress.announce(run)


def testrun_sweep(*, orphaned_queued: bool = True) -> list[int]:
    """Take over or fail the runs whose holder is dead; returns the ids queued again.

    A run is dead when its holder is a process of this host that is gone, or
    when nothing was heard from it for longer than the task's hard time limit
    (selectors.run_is_lost). It is queued again while its attempts allow, else
    failed with the reason. With `orphaned_queued`, a queued run nothing has
    touched for as long is sent again too (a broker that lost its message, an
    embedded server that stopped): execution is idempotent, so a duplicate
    delivery runs nothing twice.
    """
    stale = timezone.now() - selectors.LOST_AFTER
    candidates = TestRun.objects.filter(state=TestRun.State.RUNNING)
    if orphaned_queued:
        candidates = candidates | TestRun.objects.filter(
            Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, created_at__lt=stale),
            state=TestRun.State.QUEUED,
        )
    requeued = []
    for run_id in candidates.values_list("pk", flat=True):
        with transaction.atomic():
            run = TestRun.objects.select_for_update().get(pk=run_id)
            if run.state == TestRun.State.RUNNING:
                holder = str(run.result.get("holder") or "")
                if not (selectors.run_is_lost(run) or process_is_gone(holder)):
                    continue
                if run.attempts > queue.MAX_RETRIES:
                    run.state = TestRun.State.ERROR
                    run.infra_error = (
                        f"gave up after {run.attempts} attempts: "
                        f"the worker running it ({holder or 'unknown'}) stopped answering"
                    )
                    run.finished_at = timezone.now()
                    run.save(update_fields=["state", "infra_error", "finished_at"])
                    progress.announce(run)
                    log.warning("run %s: %s", run.pk, run.infra_error)
                    continue
                run.result = {k: v for k, v in run.result.items() if k != "holder"}
            elif run.state != TestRun.State.QUEUED:
                continue
            run.state = TestRun.State.QUEUED
            run.heartbeat_at = timezone.now()  # not sent again before another LOST_AFTER
            run.save(update_fields=["state", "result", "heartbeat_at"])
            progress.announce(run)
            queue.enqueue_after_commit(run.pk)
            requeued.append(run.pk)
            log.warning("run %s: its holder is gone; queued again", run.pk)
    return requeued


def _ratings(interview: Interview) -> dict[str, int]:
    return dict(interview.ratings.values_list("criterion_id", "level"))


def _score(run: TestRun, report: dict[str, Any] | None) -> Scorecard:
    interview = run.interview
    existing = Scorecard.objects.filter(test_run=run).first()
    # A run scored before (at Submit) keeps the rubric it was graded with.
    rubric = existing.rubric_typed if existing else interview.exercise.rubric
    if rubric is None:
        raise ValueError(f"exercise {interview.exercise.slug!r} has no rubric")
    scorecard = existing or Scorecard(interview=interview, test_run=run)
    scorecard.keep(engine.score(rubric, report, _ratings(interview)))
    scorecard.save()
    locked = Interview.objects.select_for_update().get(pk=interview.pk)
    if locked.state in {Interview.State.ENDED, Interview.State.GRADED}:
        locked.transition(Interview.State.GRADED)
    events.record(
        interview,
        TimelineEvent.Kind.GRADED,
        actor="faultline",
        audience=TimelineEvent.Audience.STAFF,
        data={"run": run.pk, "overall": scorecard.overall},
        notify=False,
    )
    progress.scored(scorecard)
    return scorecard


def rating_set(
    *, interview: Interview, criterion_id: str, level: int, comment: str, rated_by: Any
) -> None:
    """Store an interviewer's rating and recompute the latest scorecard with it."""
    rubric = interview.exercise.rubric
    try:
        criterion = rubric.criterion(criterion_id) if rubric else None
    except KeyError:
        criterion = None
    if rubric is None or criterion is None or criterion.source != "interviewer":
        raise ValueError(f"{criterion_id!r} is not an interviewer-rated criterion of this rubric")
    if not 0 <= level <= rubric.scale:
        raise ValueError(f"level must be between 0 and {rubric.scale}")
    with transaction.atomic():
        Rating.objects.update_or_create(
            interview=interview,
            criterion_id=criterion_id,
            defaults={
                "level": level,
                "comment": comment,
                "rated_by": rated_by,
                "rated_at": timezone.now(),
            },
        )
        events.record(
            interview,
            TimelineEvent.Kind.RATING,
            actor=getattr(rated_by, "username", ""),
            audience=TimelineEvent.Audience.STAFF,
            data={"criterion": criterion_id, "level": level, "comment": comment},
        )
        scorecard_recompute(interview=interview)


def scorecard_recompute(*, interview: Interview) -> Scorecard | None:
    """Re-score the latest graded run against the rubric it was graded with."""
    scorecard = interview.scorecards.select_related("test_run").first()
    if scorecard is None:
        return None
    card = scorecard.card
    scorecard.keep(engine.score(scorecard.rubric_typed, card.report, _ratings(interview)))
    scorecard.save(update_fields=["data", "rubric", "rubric_version", "overall", "updated_at"])
    progress.scored(scorecard)
    return scorecard
