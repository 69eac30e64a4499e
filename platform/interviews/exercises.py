"""Keep the Exercise rows in step with the exercise folders."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from exercises import catalog
from interviews.models import Exercise
from rubrics import SchemaError


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)

    @property
    def loaded(self) -> list[str]:
        return self.created + self.updated + self.unchanged


def manifest_of(spec: catalog.Exercise) -> dict[str, Any]:
    """What the platform keeps of an exercise: what the room and the review need."""
    return {
        "tasks": [
            {"id": t.id, "title": t.title, "body": t.body, "criteria": list(t.criteria)}
            for t in spec.tasks
        ],
        "pm_script": spec.pm_script(),
        "rubric": spec.rubric.to_dict(),
        "rubric_version": spec.rubric.version,
        # Kept with the version so a replay diffs against the starter the candidate got.
        "starter_files": {p: d.decode("utf-8") for p, d in spec.starter_files().items()},
    }


def exercises_sync(*, root: Path) -> SyncReport:
    """Load every exercise folder; an invalid one is reported and its old row kept as it was."""
    report = SyncReport()
    folders = sorted(p for p in root.iterdir() if catalog.is_exercise_dir(p))
    for folder in folders:
        try:
            spec = catalog.load(folder)
        except SchemaError as exc:
            report.invalid[folder.name] = str(exc)
            continue
        with transaction.atomic():
            row = Exercise.objects.filter(slug=spec.slug).first()
            values = {
                "title": spec.title,
                "summary": spec.summary,
                "difficulty": spec.difficulty,
                "time_box_minutes": spec.time_box_minutes,
                "version_hash": spec.version_hash,
                "manifest": manifest_of(spec),
                "active": True,
                "synced_at": timezone.now(),
            }
            if row is None:
                Exercise.objects.create(slug=spec.slug, **values)
                report.created.append(spec.slug)
            elif row.version_hash != spec.version_hash or row.manifest != values["manifest"]:
                Exercise.objects.filter(pk=row.pk).update(**values)
                report.updated.append(spec.slug)
            else:
                report.unchanged.append(spec.slug)
    return report


def starter_files(slug: str) -> dict[str, str]:
    spec = catalog.find(slug, _root())
    return {path: data.decode("utf-8") for path, data in spec.starter_files().items()}


def _root() -> Path:
    from django.conf import settings

    return Path(settings.EXERCISES_DIR)
