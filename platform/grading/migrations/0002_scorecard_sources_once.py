"""A scorecard's rubric and report are stored once: the rubric on the row, the report on the run.

Cards stored before held a second copy of both in `data`. A copy equal to the row's
rubric or the run's report is dropped; one that differs is kept where it is (the
model's `card` reads it first), so no stored card reads back otherwise than before.
Going back puts both copies into `data` again.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

NO_REPORT: dict[str, Any] = {"tests": []}  # what a run without a report was scored with


def _run_report(run: Any) -> dict[str, Any]:
    report = run.result.get("report") if isinstance(run.result, dict) else None
    return dict(report) if isinstance(report, dict) and report else dict(NO_REPORT)


def store_once(apps: Any, schema_editor: Any) -> None:
    Scorecard = apps.get_model("grading", "Scorecard")
    for scorecard in Scorecard.objects.select_related("test_run").iterator(chunk_size=200):
        data = dict(scorecard.data or {})
        changed = False
        if "rubric" in data and data["rubric"] == scorecard.rubric:
            del data["rubric"]
            changed = True
        if "report" in data and data["report"] == _run_report(scorecard.test_run):
            del data["report"]
            changed = True
        if changed:
            scorecard.data = data
            scorecard.save(update_fields=["data"])


def store_twice(apps: Any, schema_editor: Any) -> None:
    Scorecard = apps.get_model("grading", "Scorecard")
    for scorecard in Scorecard.objects.select_related("test_run").iterator(chunk_size=200):
        data = dict(scorecard.data or {})
        if "rubric" in data and "report" in data:
            continue
        data.setdefault("rubric", scorecard.rubric)
        data.setdefault("report", _run_report(scorecard.test_run))
        scorecard.data = data
        scorecard.save(update_fields=["data"])


class Migration(migrations.Migration):
    dependencies = [
        ("grading", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(store_once, store_twice),
    ]
