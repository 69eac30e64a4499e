"""Presence counts the candidate's open tabs, in every process, and forgets tabs nobody hears.

Closing one of two tabs must leave the candidate "connected" on the console, also
for a console that (re)loads afterwards; a tab whose server died without closing
it must stop counting. Run in both shapes: the in-process channel layer with SQLite,
and (production pass) Redis with PostgreSQL.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from interviews import services as interview_services
from interviews.models import Interview
from tests.requirements import require_postgres, require_redis
from tests.web.conftest import candidate_client, client_for
from tests.web.test_consumers import connect, request, run, until
from web import presence as presences
from web.models import CandidateConnection

pytestmark = pytest.mark.django_db(transaction=True)


def online_event(message: dict) -> bool:
    return message["type"] == "event" and message["event"]["kind"] == "candidate_online"


async def console_state(path: str, client: Any) -> dict:
    """What a console that loads now shows: its state's presence."""
    comm, connected = await connect(path, client)
    assert connected
    state, _ = await until(comm, lambda m: m["type"] == "state")
    await comm.disconnect()
    return state["candidate_online"]


def two_tabs_then_one_then_none(interview: Interview, token: str, interviewer: Any) -> dict:
    candidate = candidate_client(token)
    staff_client = client_for(interviewer)
    console = f"/ws/console/{interview.pk}/"

    async def scenario() -> dict[str, Any]:
        staff, _ = await connect(console, staff_client)
        await until(staff, lambda m: m["type"] == "state")
        out: dict[str, Any] = {}
        tab1, _ = await connect("/ws/room/", candidate)
        await until(tab1, lambda m: m["type"] == "state")
        tab2, _ = await connect("/ws/room/", candidate)
        await until(tab2, lambda m: m["type"] == "state")
        await until(staff, lambda m: online_event(m) and m["event"]["tabs"] == 2)
        out["two"] = await console_state(console, staff_client)
        await tab1.disconnect()
        out["after_closing_one"], _ = await until(staff, online_event)
        out["reloaded_console"] = await console_state(console, staff_client)
        await tab2.disconnect()
        out["after_closing_both"], _ = await until(staff, online_event)
        out["reloaded_again"] = await console_state(console, staff_client)
        await staff.disconnect()
        return out

    return run(scenario)


def check_tab_counting(interview_and_token: tuple[Interview, str], interviewer: Any) -> None:
    interview, token = interview_and_token
    interview_services.interview_start(interview=interview, actor="ivy")

    out = two_tabs_then_one_then_none(interview, token, interviewer)

    assert out["two"] == {"online": True, "tabs": 2, "browsers": 1}
    assert out["after_closing_one"]["event"]["online"] is True
    assert out["after_closing_one"]["event"]["tabs"] == 1
    assert out["reloaded_console"] == {"online": True, "tabs": 1, "browsers": 1}
    assert out["after_closing_both"]["event"]["online"] is False
    assert out["reloaded_again"] == {"online": False, "tabs": 0, "browsers": 0}
    assert not CandidateConnection.objects.exists()


def test_closing_one_of_two_tabs_leaves_the_candidate_connected(
    interview_and_token: tuple[Interview, str], personas: dict[str, Any]
) -> None:
    check_tab_counting(interview_and_token, personas["interviewer"])


@pytest.mark.production
def test_closing_one_of_two_tabs_leaves_the_candidate_connected_on_redis(
    interview_and_token: tuple[Interview, str], personas: dict[str, Any]
) -> None:
    from django.conf import settings

    require_redis()
    require_postgres()
    assert "Redis" in settings.CHANNEL_LAYERS["default"]["BACKEND"]
    check_tab_counting(interview_and_token, personas["interviewer"])


def dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


def test_tabs_whose_server_died_or_went_quiet_stop_counting(
    interview_and_token: tuple[Interview, str],
    personas: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(presences, "PRESENCE_RECOUNT_SECONDS", 0)
    interview, _ = interview_and_token
    interview_services.interview_start(interview=interview, actor="ivy")
    now = timezone.now()
    quiet = now - timedelta(seconds=presences.CONNECTION_STALE_SECONDS + 1)
    here = socket.gethostname()
    # Left behind by a server of this machine that was killed (a restart), and by
    # another machine's server that has not been heard from for too long.
    CandidateConnection.objects.create(
        interview=interview, channel_name="gone", holder=f"{here}:{dead_pid()}", seen_at=now
    )
    CandidateConnection.objects.create(
        interview=interview, channel_name="quiet", holder="web-2:41", seen_at=quiet
    )
    console = f"/ws/console/{interview.pk}/"
    staff_client = client_for(personas["interviewer"])

    async def load() -> dict:
        return await console_state(console, staff_client)

    assert run(load) == {
        "online": False,
        "tabs": 0,
        "browsers": 0,
    }
    assert not CandidateConnection.objects.exists()  # and they are cleared away

    # A tab held by a live server elsewhere counts until it too goes quiet; the
    # console learns of that at its next ping, with no event from anybody.
    CandidateConnection.objects.create(
        interview=interview, channel_name="elsewhere", holder="web-2:41", seen_at=now
    )

    async def pings() -> tuple[dict, dict]:
        staff, _ = await connect(console, staff_client)
        await until(staff, lambda m: m["type"] == "state")
        await request(staff, {"type": "ping"}, 1)
        first, _ = await until(staff, online_event)
        await CandidateConnection.objects.filter(channel_name="elsewhere").aupdate(seen_at=quiet)
        await request(staff, {"type": "ping"}, 2)
        second, _ = await until(staff, online_event)
        await staff.disconnect()
        return first["event"], second["event"]

    first, second = run(pings)
    assert first["online"] is True and first["tabs"] == 1
    assert second["online"] is False


def test_a_ping_refreshes_the_tab(
    interview_and_token: tuple[Interview, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(presences, "SEEN_REFRESH_SECONDS", 0)
    interview, token = interview_and_token
    interview_services.interview_start(interview=interview, actor="ivy")
    candidate = candidate_client(token)
    long_ago = timezone.now() - timedelta(hours=1)

    async def scenario() -> tuple[bool, bool]:
        tab, _ = await connect("/ws/room/", candidate)
        await until(tab, lambda m: m["type"] == "state")
        # Not heard from for an hour (a laptop asleep): no longer counted...
        await CandidateConnection.objects.all().aupdate(seen_at=long_ago)
        stale = not (await _presence(interview.pk))["online"]
        # ...until it speaks again: the tab is counted again.
        await request(tab, {"type": "ping"}, 1)
        fresh = (await _presence(interview.pk))["online"]
        await tab.disconnect()
        return stale, fresh

    stale, fresh = run(scenario)
    assert stale, "an hour without a word is not online"
    assert fresh, "the ping made the tab count again"


async def _presence(interview_id: int) -> dict:
    from channels.db import database_sync_to_async

    return await database_sync_to_async(presences.candidate_presence)(interview_id)
