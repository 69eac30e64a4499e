"""manage.py grade: grade a directory of candidate files offline, as the platform would."""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from exercises.__main__ import grade_main


class Command(BaseCommand):
    help = "Grade DIR against an exercise's hidden suite and rubric; print the scorecard."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--exercise", required=True, help="exercise slug")
        parser.add_argument("--files", required=True, help="directory of candidate files")
        parser.add_argument("--backend", choices=["bwrap", "docker"], default=None)
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument(
            "--profile",
            action="store_true",
            help="print where the time went: sandbox, app boot, each test, parsing, scoring, "
            "and the floor (app boot + longest test)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        status = grade_main(
            options["exercise"],
            options["files"],
            backend=options["backend"] or settings.SANDBOX_BACKEND,
            as_json=options["json"],
            profile=options["profile"],
            root=settings.EXERCISES_DIR,
            out=lambda line: self.stdout.write(line),
        )
        if status:
            sys.exit(status)
