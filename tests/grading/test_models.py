"""A scorecard stores its rubric and its report once, and cards stored before read back the same."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps

import rubrics
from grading.models import Scorecard, Snapshot, TestRun
from interviews.models import Exercise, Interview

store = importlib.import_module("grading.migrations.0002_scorecard_sources_once")

RUBRIC = rubrics.parse_rubric(
    {
        "rubric": {"id": "r", "title": "R", "scale": 3},
        "criteria": [
            {
                "id": "works",
                "title": "It works",
                "description": "The answers are right.",
                "weight": 2,
                "source": "automated",
                "levels": {"0": "no", "1": "barely", "2": "mostly", "3": "yes"},
            },
            {
                "id": "talks",
                "title": "Explains",
                "description": "Says why.",
                "weight": 1,
                "source": "interviewer",
                "levels": {"0": "no", "1": "a bit", "2": "well", "3": "very well"},
            },
        ],
    }
)
REPORT = {
    "tests": [
        {"id": "t1", "title": "answers", "criterion": "works", "outcome": "passed", "fails_to": 1},
        {"id": "t2", "title": "streams", "criterion": "works", "outcome": "failed", "fails_to": 1},
    ],
    "summary": {"passed": 1, "failed": 1},
}


def _run(report: dict[str, Any] | None) -> TestRun:
    exercise = Exercise.objects.create(
        slug="e", title="E", version_hash="v1", manifest={"rubric": RUBRIC.to_dict()}
    )
    interview = Interview.objects.create(exercise=exercise, candidate_name="Cara", state="graded")
    return TestRun.objects.create(
        interview=interview,
        snapshot=Snapshot.of({"app.py": "print(1)\n"}),
        kind=TestRun.Kind.HIDDEN,
        suite_version="v1",
        state=TestRun.State.FAILED,
        result={"report": report} if report is not None else {},
    )


def _stored_twice(run: TestRun, card: rubrics.Scorecard) -> Scorecard:
    """A scorecard as the platform stored them before: the rubric and report in `data` too."""
    return Scorecard.objects.create(
        interview=run.interview,
        test_run=run,
        rubric_version=card.rubric_version,
        rubric=RUBRIC.to_dict(),
        overall=card.overall,
        data=card.to_dict(),
    )


@pytest.mark.django_db
def test_a_new_scorecard_keeps_the_rubric_on_its_row_and_the_report_on_its_run() -> None:
    run = _run(REPORT)
    card = rubrics.score(RUBRIC, REPORT, {"talks": 2})
    scorecard = Scorecard(interview=run.interview, test_run=run)
    scorecard.keep(card)
    scorecard.save()
    stored = Scorecard.objects.get(pk=scorecard.pk)
    assert "rubric" not in stored.data and "report" not in stored.data
    assert stored.rubric == RUBRIC.to_dict()
    assert stored.card == card
    assert stored.card.criterion("works").level == 1


@pytest.mark.django_db
def test_the_migration_drops_the_second_copies_and_every_card_reads_back_the_same() -> None:
    run = _run(REPORT)
    card = rubrics.score(RUBRIC, REPORT, {"talks": 3})
    before = _stored_twice(run, card)
    original = dict(before.data)

    store.store_once(apps, None)
    once = Scorecard.objects.get(pk=before.pk)
    assert "rubric" not in once.data and "report" not in once.data
    assert once.card == card
    assert once.rubric_typed == RUBRIC

    store.store_twice(apps, None)
    assert Scorecard.objects.get(pk=before.pk).data == original


@pytest.mark.django_db
def test_the_migration_keeps_a_copy_that_is_not_the_same_as_the_runs() -> None:
    run = _run(None)  # the run lost its report: the card's copy is the only one
    card = rubrics.score(RUBRIC, REPORT, {})
    before = _stored_twice(run, card)

    store.store_once(apps, None)
    after = Scorecard.objects.get(pk=before.pk)
    assert after.data["report"] == REPORT
    assert "rubric" not in after.data
    assert after.card == card

    # Rescoring it later still has the report to score.
    after.keep(rubrics.rescore(after.card, {"talks": 1}))
    after.save()
    again = Scorecard.objects.get(pk=before.pk)
    assert again.data["report"] == REPORT
    assert again.card.criterion("talks").level == 1
    assert again.card.criterion("works").level == 1
