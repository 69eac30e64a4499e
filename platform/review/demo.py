"""Graded demo interviews built straight through the models, without a sandbox.

For the review's browser test and for a demo on a machine that cannot run
sandboxes. The test report is the one the add-metadata hidden suite gives for
the reference solution and two of its known-wrong variants; the scores come
from the real rubric engine, and the code from the exercise folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

import rubrics
from exercises import catalog
from grading.models import Rating, Scorecard, Snapshot, TestRun
from interviews.models import Exercise, Interview, TimelineEvent

DEMO_EXERCISE = "add-metadata"

# (test id, plain-words title, criterion) of the add-metadata hidden suite.
HIDDEN_TESTS = [
    ("test_faults.py::test_fault_gives_clean_error[500]",
     "survives a provider that fails with 500", "error-handling"),
    ("test_faults.py::test_fault_gives_clean_error[503]",
     "survives a provider that is unavailable (503)", "error-handling"),
    ("test_faults.py::test_fault_gives_clean_error[429]",
     "survives a provider that rate-limits (429 with Retry-After)", "error-handling"),
    ("test_faults.py::test_fault_gives_clean_error[malformed]",
     "survives a provider that returns malformed JSON", "error-handling"),
    ("test_faults.py::test_fault_gives_clean_error[truncated]",
     "survives a provider that returns cut-off JSON", "error-handling"),
    ("test_faults.py::test_fault_gives_clean_error[wrong-shape]",
     "survives a provider that returns JSON of the wrong shape", "error-handling"),
    ("test_faults.py::test_answers_without_usage",
     "still answers when the provider omits token usage", "error-handling"),
    ("test_faults.py::test_recovers_after_fault",
     "keeps serving normally after a provider fault", "error-handling"),
    ("test_metadata.py::test_keeps_answer_and_sources",
     "keeps the old answer and sources fields (backward compatible)", "correctness"),
    ("test_metadata.py::test_metadata_has_every_field",
     "answers with metadata carrying model, latency, created_at, usage and source ids",
     "correctness"),
    ("test_metadata.py::test_model_is_the_one_that_answered",
     "reports the model name the provider answered with", "correctness"),
    ("test_metadata.py::test_source_ids_match_sources",
     "lists the ids of the papers it answered from as source_ids", "correctness"),
    ("test_metadata.py::test_created_at_is_timezone_aware_rfc3339",
     "gives created_at as a timezone-aware RFC 3339 timestamp", "data-modelling"),
    ("test_metadata.py::test_latency_is_measured",
     "measures latency in milliseconds instead of inventing it", "data-modelling"),
    ("test_metadata.py::test_usage_comes_from_provider",
     "takes token usage from the provider's response", "data-modelling"),
    ("test_metadata.py::test_usage_null_when_provider_omits_it",
     "reports usage as null when the provider omits it (never invented)", "data-modelling"),
    ("test_frontend.py::test_shows_metadata",
     "shows the model, latency and token usage in the answer card", "frontend-robustness"),
    ("test_frontend.py::test_renders_without_metadata",
     "renders an answer from a server that sends no metadata", "frontend-robustness"),
    ("test_frontend.py::test_renders_with_null_usage",
     "renders an answer whose usage is null", "frontend-robustness"),
    ("test_frontend.py::test_escapes_hostile_strings",
     "escapes hostile strings from the server (no HTML injection)", "frontend-robustness"),
]  # fmt: skip

_FAULT_500 = (
    "AssertionError: a provider fault should give 502/503/504 (or 429), got 500: "
    "Internal Server Error\nassert 500 in {429, 502, 503, 504}"
)
_CRASH = (
    "AssertionError: got 500: Internal Server Error\n"
    'last lines of the app\'s output:\n  File "app/llm.py", line 48, in complete\n'
    "    usage = body[\"usage\"]\nKeyError: 'usage'"
)


@dataclass
class DemoCandidate:
    name: str
    email: str
    source: str  # "solution" or a mutant's name
    failures: dict[str, str] = field(default_factory=dict)  # test id -> output
    ratings: dict[str, int] = field(default_factory=dict)
    rating_comments: dict[str, str] = field(default_factory=dict)
    notes: list[tuple[int, str]] = field(default_factory=list)
    chat: list[tuple[int, str, str]] = field(default_factory=list)  # minute, role, text


DEMO_CANDIDATES = [
    DemoCandidate(
        "Riley Reference",
        "riley@example.com",
        "solution",
        ratings={"communication": 3, "product-sense": 2},
        rating_comments={
            "communication": "Narrated every step and named the retry trade-off unprompted.",
            "product-sense": "Asked who reads the metadata and whether usage can be null.",
        },
        notes=[(6, "Asked who consumes the metadata before writing code."),
               (24, "Mapped provider faults to 502/503/504 with a JSON body.")],
        chat=[(3, "candidate", "Do the dashboards need usage when the provider does not send it?"),
              (4, "interviewer", "Good question: what would you show?"),
              (5, "candidate", "null, never an estimate; the cost charts would lie otherwise.")],
    ),
    DemoCandidate(
        "Morgan Mutant",
        "morgan@example.com",
        "errors-as-500",
        failures={
            tid: _FAULT_500
            for tid, _, crit in HIDDEN_TESTS
            if crit == "error-handling" and "clean_error" in tid
        },
        ratings={"communication": 2},
        rating_comments={"communication": "Clear about the happy path; quiet about failures."},
        notes=[(18, "Did not ask what happens when the provider is down."),
               (33, "Said 'the provider is reliable enough' when asked about 503s.")],
        chat=[(8, "candidate", "I'll add the fields to the response model first."),
              (31, "interviewer", "What does the endpoint do when the provider sends garbage?"),
              (32, "candidate", "It would raise; the framework turns that into a 500.")],
    ),
    DemoCandidate(
        "Casey Crash",
        "casey@example.com",
        "crash-without-usage",
        failures={
            "test_faults.py::test_answers_without_usage": _CRASH,
            "test_metadata.py::test_usage_null_when_provider_omits_it": _CRASH,
        },
        notes=[(20, "Good instinct on created_at (UTC with offset).")],
        chat=[(10, "candidate", "Is the model name the requested alias or the resolved one?")],
    ),
]  # fmt: skip


def demo_report(failures: dict[str, str]) -> dict[str, Any]:
    tests = [
        {
            "id": tid,
            "title": title,
            "criterion": criterion,
            "outcome": "failed" if tid in failures else "passed",
            "duration": 0.18 + 0.01 * (i % 7),
            "output": failures.get(tid, ""),
        }
        for i, (tid, title, criterion) in enumerate(HIDDEN_TESTS)
    ]
    failed = sum(t["outcome"] == "failed" for t in tests)
    summary = {"passed": len(tests) - failed, "failed": failed, "error": 0, "skipped": 0}
    return {"tests": tests, "summary": {**summary, "total": len(tests), "seed": 0}}


def _decode(files: dict[str, bytes]) -> dict[str, str]:
    return {path: data.decode("utf-8") for path, data in files.items()}


def demo_reviews_create(*, exercise: Exercise, interviewer: User) -> list[Interview]:
    """The demo candidates as graded interviews of `exercise` (idempotent by email)."""
    spec = catalog.find(exercise.slug, Path(settings.EXERCISES_DIR))
    starter = _decode(spec.starter_files())
    created = []
    for number, person in enumerate(DEMO_CANDIDATES):
        if Interview.objects.filter(exercise=exercise, candidate_email=person.email).exists():
            continue
        if person.source == "solution":
            final = _decode(spec.solution_files())
        else:
            final = _decode(spec.mutant_files(person.source))
        created.append(
            _graded(
                exercise,
                interviewer,
                person,
                starter,
                final,
                days_ago=len(DEMO_CANDIDATES) - number,
            )
        )
    return created


def _graded(
    exercise: Exercise,
    interviewer: User,
    person: DemoCandidate,
    starter: dict[str, str],
    final: dict[str, str],
    *,
    days_ago: int,
) -> Interview:
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(days=days_ago, hours=3)
    rubric = exercise.rubric
    assert rubric is not None  # the demo exercise has one
    report = demo_report(person.failures)
    card = rubrics.score(rubric, report, person.ratings)
    with transaction.atomic():
        interview = Interview.objects.create(
            exercise=exercise,
            exercise_version=exercise.version_hash,
            candidate_name=person.name,
            candidate_email=person.email,
            created_by=interviewer,
            scheduled_at=start,
            duration_minutes=exercise.time_box_minutes,
            state=Interview.State.GRADED,
            started_at=start,
            ended_at=start + timedelta(minutes=42),
            revealed_tasks=len(exercise.tasks),
        )
        interview.interviewers.add(interviewer)

        def event(minute: float, kind: str, actor: str, audience: str = "all", **data: Any) -> None:
            TimelineEvent.objects.create(
                interview=interview,
                at=start + timedelta(minutes=minute),
                kind=kind,
                actor=actor,
                audience=audience,
                data=data,
            )

        who = interviewer.get_username()
        event(-2, "created", who, exercise=exercise.slug)
        event(-1, "joined", "candidate")
        event(0, "started", who)
        for i, task in enumerate(exercise.tasks):
            event(1 + 20 * i, "task_revealed", who, index=i, title=task.get("title", ""))
        for minute, role, text in person.chat:
            event(
                minute, "message", "candidate" if role == "candidate" else who, text=text, role=role
            )
        for minute, text in person.notes:
            event(minute, "note", who, audience="staff", text=text, offset_seconds=minute * 60)
        # The candidate's edits: a first draft of each changed file, then its final text.
        changed = sorted(p for p in final if starter.get(p) != final[p])
        step = 30 / max(1, len(changed))
        for i, path in enumerate(changed):
            edit_minute = 8 + i * step
            before = starter.get(path, "")
            lines = final[path].splitlines(keepends=True)
            draft = "".join(lines[: max(1, len(lines) // 2)]) if before else ""
            if draft and draft != before:
                event(edit_minute, "edit", "candidate", path=path, version=2, content=draft)
            event(
                edit_minute + step / 2,
                "edit",
                "candidate",
                path=path,
                version=3,
                content=final[path],
            )
            if i == len(changed) // 2:
                event(edit_minute + step / 2 + 0.5, "run", "candidate")
                event(
                    edit_minute + step / 2 + 1,
                    "run_result",
                    "faultline",
                    state="passed",
                    summary={"passed": 3, "failed": 0},
                )
        event(40, "submitted", "candidate")
        event(42, "ended", who)

        run = TestRun.objects.create(
            interview=interview,
            snapshot=Snapshot.of(final),
            kind=TestRun.Kind.HIDDEN,
            suite_version=exercise.version_hash,
            state=TestRun.State.FAILED if person.failures else TestRun.State.PASSED,
            requested_by=who,
            attempts=1,
            tests=report["tests"],
            result={"report": report, "summary": report["summary"], "output": ""},
            started_at=start + timedelta(minutes=42),
            finished_at=start + timedelta(minutes=43),
        )
        event(
            43,
            "run_result",
            "faultline",
            audience="staff",
            run=run.pk,
            state=run.state,
            summary=report["summary"],
        )
        for cid, level in person.ratings.items():
            Rating.objects.create(
                interview=interview,
                criterion_id=cid,
                level=level,
                comment=person.rating_comments.get(cid, ""),
                rated_by=interviewer,
                rated_at=start + timedelta(minutes=50),
            )
            event(
                50,
                "rating",
                who,
                audience="staff",
                criterion=cid,
                level=level,
                comment=person.rating_comments.get(cid, ""),
            )
        scorecard = Scorecard(interview=interview, test_run=run)
        scorecard.keep(card)
        scorecard.save()
        event(51, "graded", "faultline", audience="staff", run=run.pk, overall=card.overall)
    return interview
