"""GET /healthz: the state of every dependency this configuration uses."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from faultline.preflight import check_broker


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    # A round trip through the layer proves it carries messages, not just that
    # a socket connects.
    channel = async_to_sync(layer.new_channel)()
    token = uuid.uuid4().hex
    async_to_sync(layer.send)(channel, {"type": "health.ping", "token": token})
    message = async_to_sync(layer.receive)(channel)
    if message.get("token") != token:
        raise RuntimeError("channel layer returned a different message")
    return type(layer).__name__


def _task_queue() -> str:
    if not settings.CELERY_BROKER_URL:
        return "in-process"
    check_broker(timeout=2)
    return "celery broker reachable"


def _sandbox() -> str:
    import sandbox

    for status in sandbox.doctor():
        if status.name == settings.SANDBOX_BACKEND:
            if not status.available:
                raise RuntimeError(status.detail or "unusable")
            return f"{status.name}: {status.detail}"
    raise RuntimeError(f"unknown backend {settings.SANDBOX_BACKEND}")


CHECKS: dict[str, Callable[[], str]] = {
    "database": _database,
    "channel_layer": _channel_layer,
    "task_queue": _task_queue,
    "sandbox": _sandbox,
}


def run_checks() -> tuple[bool, dict[str, dict[str, object]]]:
    results: dict[str, dict[str, object]] = {}
    ok = True
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            detail = check()
            results[name] = {"ok": True, "detail": detail}
        except Exception as exc:  # a health check reports every failure, whatever its kind
            ok = False
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        results[name]["ms"] = round((time.monotonic() - started) * 1000, 1)
    return ok, results


def healthz(request: HttpRequest) -> JsonResponse:
    ok, results = run_checks()
    body: dict[str, object] = {
        "status": "ok" if ok else "unavailable",
        "mode": "embedded" if settings.EMBEDDED else "production",
        "checks": results,
    }
    if not ok:
        body["down"] = [name for name, r in results.items() if not r["ok"]]
    return JsonResponse(body, status=200 if ok else 503)
