"""manage.py regrade: grade an interview's final code again (after an infrastructure failure)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from grading.services import grading_retry
from interviews.models import IllegalTransition, Interview


class Command(BaseCommand):
    help = "Grade an ended interview again: its grading failed, or it was never graded (stuck)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("interview_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        interview = Interview.objects.filter(pk=options["interview_id"]).first()
        if interview is None:
            raise CommandError(f"no interview with id {options['interview_id']}")
        try:
            run = grading_retry(interview=interview, requested_by="operator")
        except IllegalTransition as exc:
            raise CommandError(f"interview {interview.pk} ({interview.state}): {exc}") from exc
        self.stdout.write(f"hidden run {run.pk}: {run.state}")
