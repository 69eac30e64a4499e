"""Append to the timeline and tell the interview's websocket group, after commit."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from interviews.models import Interview, TimelineEvent

# The event loop that serves websockets in this process. The in-process channel
# layer (embedded mode) keeps asyncio queues that belong to that loop, so a
# message from a grading thread must be handed to the loop, not sent from a
# private loop of its own (which would leave the consumer asleep).
_server_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def bind_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _server_loop
    with _loop_lock:
        _server_loop = loop


def _send_to_group(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _server_loop
    if loop is not None and loop.is_running():
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            loop.create_task(layer.group_send(group, message))
            return
        future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
        future.result(timeout=10)
        return
    async_to_sync(layer.group_send)(group, message)


def group_name(interview_id: int, audience: str = "all") -> str:
    """Two groups per interview: everyone, and staff only (notes, hidden-suite detail)."""
    return f"interview-{interview_id}-{audience}"


def broadcast(interview_id: int, message: dict[str, Any], *, audience: str = "all") -> None:
    """Send `message` to the interview's group once the current transaction commits.

    A message sent before commit could announce a row that a rollback then
    erases, or reach a client that reloads and does not find it yet.
    """

    def send() -> None:
        _send_to_group(
            group_name(interview_id, audience), {"type": "interview.event", "event": message}
        )

    transaction.on_commit(send)


def record(
    interview: Interview,
    kind: str,
    *,
    actor: str = "",
    data: dict[str, Any] | None = None,
    audience: str = TimelineEvent.Audience.ALL,
    notify: bool = True,
) -> TimelineEvent:
    event = TimelineEvent.objects.create(
        interview=interview, kind=kind, actor=actor, data=data or {}, audience=audience
    )
    if notify:
        broadcast(
            interview.pk,
            {
                "kind": kind,
                "at": event.at.isoformat(),
                "actor": actor,
                "data": event.data,
                "id": event.pk,
            },
            audience=audience,
        )
    return event
