"""manage.py check_exercise: prove an exercise's hidden suite is fair and sharp."""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from exercises.__main__ import check_main


class Command(BaseCommand):
    help = (
        "Run the reference, the starter and every mutant through the hidden suite in the "
        "sandbox; exit non-zero on any unfair or blunt result."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slugs", nargs="*", help="exercise slugs")
        parser.add_argument("--all", action="store_true", help="every exercise")
        parser.add_argument("--repeat", type=int, default=1, help="repetitions of each run")
        parser.add_argument(
            "--backend", choices=["bwrap", "docker"], default=None, help="sandbox backend"
        )
        parser.add_argument(
            "--jobs", type=int, default=1, help="exercises checked at once (default 1)"
        )
        parser.add_argument(
            "--reference-only",
            action="store_true",
            help="only the reference's runs (fairness): no starter, no mutants",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        status = check_main(
            options["slugs"],
            all_=options["all"],
            repeat=options["repeat"],
            backend=options["backend"] or settings.SANDBOX_BACKEND,
            root=settings.EXERCISES_DIR,
            out=lambda line: self.stdout.write(line),
            jobs=options["jobs"],
            sharp=not options["reference_only"],
        )
        if status:
            sys.exit(status)
