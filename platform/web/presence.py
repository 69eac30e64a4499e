"""Who is in the room: the candidate's open tabs and browsers, and the file they are in.

A candidate tab's connection is a row (CandidateConnection) so every process sees
it; the file the candidate is in is only a hint, kept in memory.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from django.utils import timezone

from faultline.holders import process_is_gone, this_process
from interviews.models import Interview
from web.models import CandidateConnection
from web.services import check_path


class _Presence:
    """Which file the candidate is in, per interview (in memory: it is only a hint)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_interview: dict[int, dict[str, Any]] = {}

    def set(self, interview_id: int, path: str, line: int | None) -> dict[str, Any]:
        value = {"path": path, "line": line, "at": timezone.now().isoformat()}
        with self._lock:
            self._by_interview[interview_id] = value
        return value

    def get(self, interview_id: int) -> dict[str, Any] | None:
        with self._lock:
            return self._by_interview.get(interview_id)


_presence = _Presence()


def presence_of(interview_id: int) -> dict[str, Any] | None:
    """The file the candidate was last in (None when this process has not heard)."""
    return _presence.get(interview_id)


def presence_set(*, interview: Interview, path: Any, line: Any) -> dict[str, Any]:
    path = check_path(path)
    return _presence.set(interview.pk, path, line if isinstance(line, int) else None)


# A socket not heard from for this long no longer counts as the candidate being
# there: its process died (a server restart, a crash) without closing it. The
# room pings every 2 s and any message refreshes the mark, at most every
# SEEN_REFRESH_SECONDS so that typing and pinging cost no extra writes.
CONNECTION_STALE_SECONDS = 40
SEEN_REFRESH_SECONDS = 10
# How often a console's pings recount the tabs (a read per console, not per ping).
PRESENCE_RECOUNT_SECONDS = 10


def candidate_presence(interview_id: int) -> dict[str, Any]:
    """Whether the candidate is in the room: their open tabs and browsers, stale ones dropped."""
    fresh_after = timezone.now() - timedelta(seconds=CONNECTION_STALE_SECONDS)
    rows = CandidateConnection.objects.filter(interview_id=interview_id)
    stale = [r.pk for r in rows if r.seen_at < fresh_after or process_is_gone(r.holder)]
    if stale:
        CandidateConnection.objects.filter(pk__in=stale).delete()
    live = [r for r in rows if r.pk not in stale]
    return {
        "online": bool(live),
        "tabs": len(live),
        "browsers": len({r.device for r in live}),
    }


def connection_open(*, interview: Interview, channel_name: str, device: str) -> dict[str, Any]:
    """A candidate tab connected; returns the presence it makes."""
    now = timezone.now()
    CandidateConnection.objects.update_or_create(
        channel_name=channel_name,
        defaults={
            "interview": interview,
            "device": device,
            "holder": this_process(),
            "connected_at": now,
            "seen_at": now,
        },
    )
    return candidate_presence(interview.pk)


def connection_seen(*, interview: Interview, channel_name: str, device: str) -> bool:
    """The tab was heard from. True when it had been given up on and counts again."""
    now = timezone.now()
    if CandidateConnection.objects.filter(channel_name=channel_name).update(seen_at=now):
        return False
    # Dropped as stale while it was quiet (a laptop asleep), yet it is still here.
    CandidateConnection.objects.create(
        interview=interview, channel_name=channel_name, device=device, holder=this_process()
    )
    return True


def connection_close(*, interview: Interview, channel_name: str) -> dict[str, Any]:
    """A candidate tab went away; returns the presence that is left."""
    CandidateConnection.objects.filter(channel_name=channel_name).delete()
    return candidate_presence(interview.pk)


_BROWSERS = [
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
]
_SYSTEMS = [
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
]


def browser_label(user_agent: str) -> str:
    """'Firefox on Windows': enough for an interviewer to tell two browsers apart."""
    name = next((label for key, label in _BROWSERS if key in user_agent), "a browser")
    system = next((label for key, label in _SYSTEMS if key in user_agent), "")
    return f"{name} on {system}" if system else name
