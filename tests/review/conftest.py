"""Graded interviews built straight through the models: no sandbox, no grading queue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

RUBRIC: dict[str, Any] = {
    "rubric": {"id": "ask-llm", "title": "Ask the model safely", "scale": 3, "critical_cap": 60},
    "criteria": [
        {
            "id": "error-handling",
            "title": "Error handling",
            "description": "Provider faults become clean errors.",
            "weight": 2,
            "source": "automated",
            "levels": {
                "0": "Faults crash the request.",
                "1": "Some faults handled.",
                "2": "Most faults handled cleanly.",
                "3": "Every fault gives a clean 502/503/504.",
            },
        },
        {
            "id": "correctness",
            "title": "Correctness",
            "description": "Answers carry the right fields.",
            "weight": 3,
            "source": "automated",
            "levels": {
                "0": "Fields missing.",
                "1": "Some fields.",
                "2": "One value wrong.",
                "3": "Every field right.",
            },
        },
        {
            "id": "communication",
            "title": "Communication",
            "description": "Explains trade-offs.",
            "weight": 1,
            "source": "interviewer",
            "levels": {
                "0": "Silent.",
                "1": "Explains when asked.",
                "2": "Names trade-offs.",
                "3": "Clear and adaptive.",
            },
        },
    ],
}

TESTS = [
    (
        "test_faults.py::test_fault[500]",
        "survives a provider that fails with 500",
        "error-handling",
    ),
    (
        "test_faults.py::test_fault[stall]",
        "survives a provider that stalls mid-stream",
        "error-handling",
    ),
    (
        "test_faults.py::test_fault[garbage]",
        "survives a provider that returns malformed JSON",
        "error-handling",
    ),
    ("test_api.py::test_fields", "answers with every metadata field", "correctness"),
    ("test_api.py::test_compat", "keeps the old answer and sources fields", "correctness"),
]

STARTER = {
    "app/main.py": "def answer(q):\n    return call_model(q)\n",
    "README.md": "# Ask\n",
}


def report_for(failing: set[str], critical: dict[str, str] | None = None) -> dict[str, Any]:
    tests = []
    for tid, title, criterion in TESTS:
        failed = tid in failing
        tests.append(
            {
                "id": tid,
                "title": title,
                "criterion": criterion,
                **({"critical": critical[tid]} if critical and tid in critical else {}),
                "outcome": "failed" if failed else "passed",
                "duration": 0.42,
                "output": (
                    f"AssertionError: a provider fault should give 502/503/504, got 500 ({tid})"
                    if failed
                    else ""
                ),
            }
        )
    passed = sum(t["outcome"] == "passed" for t in tests)
    return {"tests": tests, "summary": {"passed": passed, "failed": len(tests) - passed}}


@pytest.fixture
def exercise(db: Any) -> Any:
    import rubrics
    from interviews.models import Exercise

    rubric = rubrics.parse_rubric(RUBRIC)
    return Exercise.objects.create(
        slug="ask-llm",
        title="Ask the model",
        version_hash="v1",
        manifest={
            "rubric": rubric.to_dict(),
            "rubric_version": rubric.version,
            "starter_files": STARTER,
        },
    )


@pytest.fixture
def make_graded(exercise: Any, personas: dict[str, Any]) -> Any:
    """make_graded(name, failing=..., ratings=..., final=...) -> a graded Interview."""
    import rubrics
    from grading.models import Rating, Scorecard, Snapshot, TestRun
    from interviews.models import Interview, TimelineEvent

    def make(
        name: str,
        *,
        failing: set[str] | frozenset[str] = frozenset(),
        ratings: dict[str, int] | None = None,
        final: dict[str, str] | None = None,
        edits: list[tuple[str, str]] | None = None,
        state: str = "graded",
        for_exercise: Any = None,
        critical: dict[str, str] | None = None,
    ) -> Interview:
        ex = for_exercise or exercise
        ratings = ratings or {}
        start = timezone.now() - timedelta(hours=2)
        interview = Interview.objects.create(
            exercise=ex,
            exercise_version=ex.version_hash,
            candidate_name=name,
            candidate_email=f"{name.split()[0].lower()}@example.com",
            state=state,
            started_at=start,
            ended_at=start + timedelta(minutes=45),
        )
        interview.interviewers.add(personas["interviewer"])
        files = final or {
            "app/main.py": "def answer(q):\n    try:\n        return call_model(q)\n"
            "    except ProviderError:\n        return error(502)\n",
            "README.md": "# Ask\n",
        }

        def event(minutes: float, kind: str, **fields: Any) -> None:
            TimelineEvent.objects.create(
                interview=interview, at=start + timedelta(minutes=minutes), kind=kind, **fields
            )

        event(0, "started", actor="ivy")
        event(1, "task_revealed", actor="ivy", data={"index": 0, "title": "Handle faults"})
        for i, (path, content) in enumerate(edits or [("app/main.py", files["app/main.py"])]):
            event(5 + i, "edit", actor="candidate", data={"path": path, "content": content})
        event(
            12,
            "message",
            actor="candidate",
            data={"text": "Should a 429 be retried?", "role": "candidate"},
        )
        event(
            14, "note", actor="ivy", audience="staff", data={"text": "Asked about retries early."}
        )
        event(40, "submitted", actor="candidate", data={})
        report = report_for(set(failing), critical)
        run = TestRun.objects.create(
            interview=interview,
            snapshot=Snapshot.of(files),
            kind=TestRun.Kind.HIDDEN,
            suite_version=ex.version_hash,
            state=TestRun.State.FAILED if failing else TestRun.State.PASSED,
            tests=report["tests"],
            result={"report": report, "summary": report["summary"], "output": ""},
            finished_at=start + timedelta(minutes=46),
        )
        for cid, level in ratings.items():
            Rating.objects.create(
                interview=interview,
                criterion_id=cid,
                level=level,
                comment="Talked through the retry budget.",
                rated_by=personas["interviewer"],
            )
        rubric = rubrics.Rubric.from_dict(ex.manifest["rubric"])
        card = rubrics.score(rubric, report, ratings)
        scorecard = Scorecard(interview=interview, test_run=run)
        scorecard.keep(card)  # as the platform stores it: the report stays on the run
        scorecard.save()
        event(46, "graded", actor="faultline", audience="staff", data={"overall": card.overall})
        return interview

    return make
