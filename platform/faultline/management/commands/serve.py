"""Serve Faultline: the ASGI app with everything embedded mode needs in-process."""

from __future__ import annotations

from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from faultline.preflight import PreflightError, run_all


class Command(BaseCommand):
    help = "Run the web server (HTTP and websockets) on PORT."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run_all()
        except PreflightError as exc:
            raise CommandError(str(exc)) from exc
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
