"""Demo accounts, a demo interview with an invite link, and graded interviews to review.

Idempotent: running it again reuses what exists and only fills what is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.roles import HIRING_MANAGERS, INTERVIEWERS, ensure_roles
from interviews.models import Exercise, Interview

DEMO_PASSWORD = "faultline-demo"  # noqa: S105  # printed on purpose: demo accounts only
DEMO_USERS = [
    ("interviewer", "Ivy Interviewer", INTERVIEWERS),
    ("manager", "Hank Hiring-Manager", HIRING_MANAGERS),
]
DEMO_CANDIDATE = ("Dana Demo", "dana@example.com")
# Graded demo interviews: (candidate, email, which files from the exercise folder)
DEMO_GRADED = [
    ("Riley Reference", "riley@example.com", "solution"),
    ("Morgan Mutant", "morgan@example.com", "mutant"),
]


class Command(BaseCommand):
    help = "Create demo accounts, a demo interview and graded demo interviews (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--skip-grading", action="store_true", help="do not grade the demo interviews"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ensure_roles()
        users = {}
        for username, full_name, group in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                first, _, last = full_name.partition(" ")
                user.first_name, user.last_name = first, last
                user.set_password(DEMO_PASSWORD)
                user.save()
            if user.is_staff and not user.is_superuser:
                # Demo databases made before kept these accounts as Django staff;
                # roles come from groups, and the admin is for the admin account.
                user.is_staff = False
                user.save(update_fields=["is_staff"])
            user.groups.add(Group.objects.get(name=group))
            users[username] = user
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser("admin", "admin@example.com", DEMO_PASSWORD)

        exercise = Exercise.objects.filter(active=True).order_by("slug").first()
        if exercise is None:
            raise CommandError("no exercises loaded: run `manage.py sync_exercises` first")
        # Prefer add-metadata, the first founding exercise, when it is there.
        exercise = Exercise.objects.filter(slug="add-metadata").first() or exercise

        from grading.demo import demo_interview_link, grade_demo_interviews

        link_path = demo_interview_link(exercise, users["interviewer"], DEMO_CANDIDATE)
        if not options["skip_grading"]:
            graded = grade_demo_interviews(exercise, users["interviewer"], DEMO_GRADED)
            self.stdout.write(f"graded demo interviews: {graded}")
        # Reviews need graded interviews even where no sandbox runs (or with --skip-grading).
        from review.demo import demo_reviews_create

        made = demo_reviews_create(exercise=exercise, interviewer=users["interviewer"])
        self.stdout.write(f"review demo interviews: {[i.candidate_name for i in made]}")

        lines = [
            "  demo accounts (password: faultline-demo):",
            "    interviewer      {base}/accounts/login/  user: interviewer",
            "    hiring manager   {base}/accounts/login/  user: manager",
            "    admin            {base}/admin/           user: admin",
            f"  candidate invite: {{base}}{link_path}",
        ]
        demo_file = Path(settings.VAR_DIR) / "demo.txt"
        demo_file.write_text("\n".join(lines) + "\n")
        self.stdout.write(f"demo data ready: {Interview.objects.count()} interview(s)")
