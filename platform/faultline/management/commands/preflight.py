from typing import Any

from django.core.management.base import BaseCommand, CommandError

from faultline.preflight import PreflightError, run_all


class Command(BaseCommand):
    help = "Check that the configured database, broker and channel layer are reachable."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run_all()
        except PreflightError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("preflight ok")
