"""Start-up checks: fail in one line naming what is wrong, not deep in a request."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.db.utils import OperationalError


class PreflightError(Exception):
    pass


def check_database() -> None:
    try:
        connection.ensure_connection()
    except OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        var = "DATABASE_URL" if settings.DATABASE_URL else "the SQLite file under FAULTLINE_VAR_DIR"
        raise PreflightError(f"database unreachable ({var}): {first_line}") from exc


def check_broker(timeout: int = 3) -> None:
    if not settings.CELERY_BROKER_URL:
        return
    from faultline.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:  # kombu raises many kinds; all mean "unreachable"
        raise PreflightError(
            f"task broker unreachable (CELERY_BROKER_URL/REDIS_URL): {type(exc).__name__}: {exc}"
        ) from exc


def check_channel_layer() -> None:
    if not settings.REDIS_URL:
        return
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=3).ping()
    except redis.RedisError as exc:
        raise PreflightError(f"Redis unreachable (REDIS_URL): {exc}") from exc


def run_all() -> None:
    check_database()
    check_broker()
    check_channel_layer()
