"""Mirror the exercise folders under exercises/ into the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from interviews.exercises import SyncReport, exercises_sync


class Command(BaseCommand):
    help = "Load or update the exercises found under exercises/ (validating each one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--root", default=str(settings.EXERCISES_DIR))
        parser.add_argument(
            "--keep-going",
            action="store_true",
            help="exit 0 even when some exercise folder is invalid (it is reported and skipped)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report: SyncReport = exercises_sync(root=Path(options["root"]))
        for folder, problem in report.invalid.items():
            self.stderr.write(f"  ! {folder}: not loaded\n{problem}")
        if options["verbosity"] == 0:
            if report.invalid and not options["keep_going"]:
                raise CommandError(f"{len(report.invalid)} exercise folder(s) are invalid")
            return
        for slug in report.created:
            self.stdout.write(f"  + {slug}")
        for slug in report.updated:
            self.stdout.write(f"  ~ {slug} (new version)")
        for slug in report.unchanged:
            self.stdout.write(f"    {slug}")
        self.stdout.write(f"{len(report.loaded)} exercise(s) loaded from {options['root']}")
        if report.invalid and not options["keep_going"]:
            raise CommandError(f"{len(report.invalid)} exercise folder(s) are invalid (see above)")
