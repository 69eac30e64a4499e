"""Serve Faultline: the ASGI app with everything embedded mode needs in-process."""

from __future__ import annotations

import logging
import threading
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from faultline.preflight import PreflightError, run_all

log = logging.getLogger(__name__)


TIMER_SECONDS = 15.0


def _start_interview_timer() -> None:
    """Embedded mode has no Celery beat: end overdue interviews from a daemon thread."""
    from django.db import close_old_connections

    from interviews.tasks import end_overdue_interviews

    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(TIMER_SECONDS):
            try:
                end_overdue_interviews()
            except Exception:  # one failed tick must not stop the next
                log.exception("ending overdue interviews failed")
            finally:
                close_old_connections()

    threading.Thread(target=tick, name="faultline-interview-timer", daemon=True).start()


class Command(BaseCommand):
    help = "Run the web server (HTTP and websockets) on PORT."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--demo",
            action="store_true",
            help="first migrate, load the exercises and the demo data (what `make run` does)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run_all()
        except PreflightError as exc:
            raise CommandError(str(exc)) from exc
        if options["demo"]:
            # In this process: three more Django start-ups would double a warm `make run`.
            call_command("migrate", interactive=False, verbosity=0)
            call_command("sync_exercises", keep_going=True)
            call_command("seed_demo")
        host, port = options["host"], options["port"]
        base = f"http://{'localhost' if host in {'127.0.0.1', '0.0.0.0'} else host}:{port}"  # noqa: S104
        mode = "embedded" if settings.EMBEDDED else "production"
        self.stdout.write(f"Faultline ({mode} mode, sandbox: {settings.SANDBOX_BACKEND})")
        self.stdout.write(f"  app:     {base}/")
        self.stdout.write(f"  health:  {base}/healthz")
        demo = settings.VAR_DIR / "demo.txt"
        if demo.exists():
            self.stdout.write(demo.read_text().replace("{base}", base).rstrip())
        self.stdout.write("Press Ctrl-C to stop.")
        if not settings.CELERY_BROKER_URL:
            _start_interview_timer()
        # uvicorn handles SIGINT/SIGTERM itself: it stops accepting, lets open
        # requests finish, closes websockets and returns.
        uvicorn.run(
            "faultline.asgi:application",
            host=host,
            port=port,
            log_level="info",
            lifespan="off",
            ws_max_size=1024 * 1024,
        )
