"""Graded demo interviews for the review pages, without running a sandbox (idempotent)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError

from accounts.roles import INTERVIEWERS, ensure_roles
from interviews.models import Exercise
from review.demo import DEMO_EXERCISE, demo_reviews_create


class Command(BaseCommand):
    help = "Create graded demo interviews of add-metadata straight in the database (no sandbox)."

    def handle(self, *args: Any, **options: Any) -> None:
        ensure_roles()
        exercise = Exercise.objects.filter(slug=DEMO_EXERCISE).first()
        if exercise is None:
            raise CommandError(f"exercise {DEMO_EXERCISE!r} is not loaded: run sync_exercises")
        interviewer = (
            User.objects.filter(groups__name=INTERVIEWERS).order_by("pk").first()
            or User.objects.filter(username="interviewer").first()
        )
        if interviewer is None:
            interviewer = User.objects.create_user(
                "interviewer", first_name="Ivy", last_name="Interviewer"
            )
            interviewer.groups.add(Group.objects.get(name=INTERVIEWERS))
        created = demo_reviews_create(exercise=exercise, interviewer=interviewer)
        names = ", ".join(i.candidate_name for i in created) or "none (already there)"
        self.stdout.write(f"graded demo interviews created: {names}")
