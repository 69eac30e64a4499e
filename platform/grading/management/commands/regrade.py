"""manage.py regrade: grade an interview's final code again (after an infrastructure failure)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from grading.services import grading_request
from interviews.models import Interview


class Command(BaseCommand):
    help = "Queue the hidden suite again for an interview whose grading the platform gave up on."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("interview_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        interview = Interview.objects.filter(pk=options["interview_id"]).first()
        if interview is None:
            raise CommandError(f"no interview with id {options['interview_id']}")
        if interview.state in {Interview.State.SCHEDULED, Interview.State.LIVE}:
            raise CommandError(f"interview {interview.pk} is {interview.state}; end it first")
        run = grading_request(interview=interview, requested_by="operator")
        self.stdout.write(f"hidden run {run.pk}: {run.state}")
