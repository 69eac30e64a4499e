"""A hiring manager's decision on an interview."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from grading.models import Scorecard
from interviews.models import Interview


class Decision(models.Model):
    class Outcome(models.TextChoices):
        ADVANCE = "advance", "Advance"
        HOLD = "hold", "Hold"
        REJECT = "reject", "Reject"

    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="decisions")
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    comment = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)
    # The evidence the decision was made on: a later re-grade or rating changes the
    # scorecard, and the record must still say what the hiring manager saw.
    scorecard = models.ForeignKey(
        Scorecard, on_delete=models.SET_NULL, null=True, blank=True, related_name="decisions"
    )
    overall = models.FloatField(null=True, blank=True)
    rubric_version = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-decided_at"]
        permissions = [("review_interview", "Can review scorecards and record decisions")]

    def __str__(self) -> str:
        return f"{self.outcome} ({self.interview_id})"
