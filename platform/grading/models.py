"""Snapshots of candidate code, test runs over them, and the scorecards they produce."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

import rubrics
from interviews.models import Interview


def files_digest(files: dict[str, str]) -> str:
    canonical = json.dumps(sorted(files.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Snapshot(models.Model):
    """An immutable, content-addressed set of candidate files ({path: text})."""

    digest = models.CharField(max_length=64, unique=True)
    files = models.JSONField()
    file_count = models.PositiveIntegerField()
    total_bytes = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.digest[:12]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("snapshots are immutable")
        super().save(*args, **kwargs)

    @classmethod
    def of(cls, files: dict[str, str]) -> Snapshot:
        """The snapshot with exactly these files, created if it does not exist yet."""
        digest = files_digest(files)
        snapshot, _ = cls.objects.get_or_create(
            digest=digest,
            defaults={
                "files": files,
                "file_count": len(files),
                "total_bytes": sum(len(v.encode()) for v in files.values()),
            },
        )
        return snapshot


class TestRun(models.Model):
    class Kind(models.TextChoices):
        VISIBLE = "visible", "Visible tests"
        HIDDEN = "hidden", "Hidden suite (grading)"

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        PASSED = "passed"
        FAILED = "failed"
        # The platform failed (sandbox down, worker lost past its retries):
        # never the candidate's fault, and shown as such.
        ERROR = "error"

    __test__ = False  # not a pytest test class, despite the name

    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="test_runs")
    snapshot = models.ForeignKey(Snapshot, on_delete=models.PROTECT, related_name="test_runs")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    suite_version = models.CharField(max_length=64)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    requested_by = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    infra_error = models.TextField(blank=True)
    # Per-test outcomes as they finish: [{"id", "title", "criterion", "outcome", ...}]
    tests = models.JSONField(default=list)
    # Sandbox outcome: exit codes, capped output, timings.
    result = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Refreshed while a worker executes the run; a stale one means the worker died.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A hidden suite grades one snapshot once per suite version: a
            # double submit or a duplicate delivery reuses the same run.
            models.UniqueConstraint(
                fields=["interview", "snapshot", "suite_version"],
                condition=models.Q(kind="hidden"),
                name="grade_snapshot_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} run {self.pk} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in {self.State.PASSED, self.State.FAILED, self.State.ERROR}


class Scorecard(models.Model):
    """The rubric's verdict on one graded run, recomputed when ratings change.

    Each part is stored once: the rubric in `rubric`, the report in the run's
    `result`, the rest of the card in `data`; `card` puts them back together.
    """

    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="scorecards")
    test_run = models.OneToOneField(TestRun, on_delete=models.CASCADE, related_name="scorecard")
    rubric_version = models.CharField(max_length=64)
    # The rubric as it was when this run was graded: changing the rubric file
    # later never changes a score already given.
    rubric = models.JSONField()
    overall = models.FloatField(null=True)
    # rubrics.Scorecard.to_dict(sources=False). Cards stored before migration 0002
    # may still hold a rubric or report that differed from the row's; `card` prefers those.
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"scorecard {self.interview_id}: {self.overall}"

    @property
    def card(self) -> rubrics.Scorecard:
        """The stored scorecard, typed, with the rubric and report it was computed from."""
        return rubrics.Scorecard.from_dict(
            self.data, rubric=self.rubric, report=run_report(self.test_run)
        )

    @property
    def rubric_typed(self) -> rubrics.Rubric:
        """The rubric this run was graded with, typed."""
        return rubrics.Rubric.from_dict(self.data.get("rubric") or self.rubric)

    def keep(self, card: rubrics.Scorecard) -> None:
        """Take `card` as this run's verdict (unsaved): its rubric here, its report on the run."""
        data = card.to_dict(sources=False)
        if card.report != run_report(self.test_run):
            data["report"] = card.report  # not the run's (only a card stored before 0002)
        self.rubric = card.rubric
        self.rubric_version = card.rubric_version
        self.overall = card.overall
        self.data = data


def run_report(run: TestRun) -> dict[str, Any]:
    """The test report a graded run was scored with (an empty one when the run made none)."""
    report = run.result.get("report") if isinstance(run.result, dict) else None
    return dict(report) if isinstance(report, dict) and report else {"tests": []}


class Rating(models.Model):
    """An interviewer's score for one interviewer-rated rubric criterion."""

    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="ratings")
    criterion_id = models.CharField(max_length=80)
    level = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    rated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["interview", "criterion_id"], name="one_rating_each")
        ]

    def __str__(self) -> str:
        return f"{self.criterion_id}={self.level}"
