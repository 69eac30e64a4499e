"""Serve Faultline: the ASGI app with everything embedded mode needs in-process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from faultline.preflight import PreflightError, run_all
from grading.queue import start_sweeper

log = logging.getLogger(__name__)


TIMER_SECONDS = 15.0


def _start_interview_timer() -> None:
    """Embedded mode has no Celery beat: end overdue interviews from a daemon thread."""
    from django.db import close_old_connections

    from grading.tasks import end_overdue_interviews

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
            start_sweeper()
        preview = _preview_socket(host, settings.PREVIEW_PORT or port + 1)
        if isinstance(preview, str):
            self.stdout.write(f"  preview: OFF ({preview})")
        else:
            preview_port = preview.getsockname()[1]
            if not settings.PREVIEW_ORIGIN:
                settings.PREVIEW_ORIGIN = f"http://preview.localhost:{preview_port}"
            self.stdout.write(f"  preview: {settings.PREVIEW_ORIGIN}/ (port {preview_port})")
        serve(host, port, preview if not isinstance(preview, str) else None)


def _preview_socket(host: str, port: int) -> socket.socket | str:
    """The preview origin's listening socket, or why there is none: the platform serves
    without previews rather than not at all when that port is taken."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        return f"port {port}: {exc.strerror}; set FAULTLINE_PREVIEW_PORT"
    sock.listen(128)
    return sock


class _Server(uvicorn.Server):
    # Signals are taken by serve() for both servers at once (uvicorn's own handler
    # would stop only the server that installed it last).
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def serve(host: str, port: int, preview: socket.socket | None) -> None:
    """The platform on `port` and the preview origin on `preview` (a bound socket), in one process:
    the process that runs the live sessions is the one that reaches their sockets."""
    servers = [
        _Server(
            uvicorn.Config(
                "faultline.asgi:application", host=host, port=port, log_level="info",
                lifespan="off", ws_max_size=1024 * 1024,
            )
        )
    ]  # fmt: skip
    if preview is not None:
        servers.append(
            _Server(
                uvicorn.Config("preview.proxy:application", log_level="warning", lifespan="off")
            )
        )

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def stop() -> None:
            for server in servers:
                if server.should_exit:
                    server.force_exit = True
                server.should_exit = True

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop)
        await asyncio.gather(
            servers[0].serve(),
            *(server.serve(sockets=[preview]) for server in servers[1:] if preview is not None),
        )

    try:
        asyncio.run(main())
    finally:
        from preview.manager import current

        running = current()
        if running is not None:
            running.stop_all()
