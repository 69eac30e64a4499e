"""An invite is open in one browser at a time: the newest takes over, the older one is told.

Two browsers editing one workspace overwrite each other ("changed elsewhere"), so
the second browser to join takes the interview over; the first one's socket closes
with a reason and reopens only after "Use this browser instead". The interviewer
sees every switch on the console and in the timeline.
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from interviews import services as interview_services
from interviews.models import Interview, TimelineEvent, WorkspaceFile
from tests.web.conftest import candidate_client, client_for
from tests.web.test_consumers import connect, request, run, until
from web.consumers import CLOSE_DISPLACED

pytestmark = pytest.mark.django_db(transaction=True)

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


async def post(client: Client, url: str) -> Any:
    return await sync_to_async(client.post)(url)


def joined_event(message: dict) -> bool:
    return message["type"] == "event" and message["event"]["kind"] == "joined"


async def displaced(comm: Any) -> tuple[dict, dict]:
    """The message and the close a displaced socket gets."""
    message, _ = await until(comm, lambda m: m["type"] == "displaced")
    closed = await comm.receive_output(timeout=5)
    return message, closed


def test_a_second_browser_takes_over_and_the_first_can_take_it_back(
    interview_and_token: tuple[Interview, str], personas: dict[str, Any]
) -> None:
    interview, token = interview_and_token
    interview_services.interview_start(interview=interview, actor="ivy")
    first = candidate_client(token)
    staff_client = client_for(personas["interviewer"])
    edit = {"type": "edit", "path": "app/main.py", "content": ""}

    async def scenario() -> dict[str, Any]:
        out: dict[str, Any] = {}
        staff, _ = await connect(f"/ws/console/{interview.pk}/", staff_client)
        await until(staff, lambda m: m["type"] == "state")
        tab, _ = await connect("/ws/room/", first)
        await until(tab, lambda m: m["type"] == "state")
        out["saved_first"], _ = await request(
            tab, {**edit, "base_version": 1, "content": "first\n"}, 1
        )

        # The candidate opens the link in another browser.
        second = Client(HTTP_USER_AGENT=FIREFOX)
        assert (await post(second, f"/i/{token}"))["Location"] == "/room/"
        out["first_told"], out["first_closed"] = await displaced(tab)
        out["staff_told"], _ = await until(staff, joined_event)
        other, _ = await connect("/ws/room/", second)
        await until(other, lambda m: m["type"] == "state")
        out["saved_second"], _ = await request(
            other, {**edit, "base_version": 2, "content": "second\n"}, 1
        )
        # The first browser cannot come back by reconnecting...
        again, connected = await connect("/ws/room/", first)
        assert connected  # accepted only to say why it closes
        out["reconnect_told"], out["reconnect_closed"] = await displaced(again)

        # ...only by taking the interview back, which displaces the second.
        assert (await post(first, "/room/take-over"))["Location"] == "/room/"
        out["second_told"], out["second_closed"] = await displaced(other)
        out["staff_told_back"], _ = await until(staff, joined_event)
        back, _ = await connect("/ws/room/", first)
        state, _ = await until(back, lambda m: m["type"] == "state")
        out["back_state_file"] = next(f for f in state["files"] if f["path"] == "app/main.py")
        out["saved_back"], _ = await request(
            back, {**edit, "base_version": 3, "content": "back\n"}, 1
        )
        for comm in (staff, back):
            await comm.disconnect()
        return out

    out = run(scenario)
    assert out["saved_first"]["type"] == "saved"
    for who in ["first", "reconnect", "second"]:
        assert "opened in another browser" in out[f"{who}_told"]["message"]
        assert out[f"{who}_closed"] == {"type": "websocket.close", "code": CLOSE_DISPLACED}
    took = out["staff_told"]["event"]["data"]
    assert took["took_over"] is True and took["browser"] == "Firefox on Windows"
    assert out["staff_told_back"]["event"]["data"]["returned"] is True
    assert out["saved_second"]["type"] == "saved"
    assert out["back_state_file"]["content"] == "second\n"  # the first sees the second's text
    assert out["saved_back"]["type"] == "saved"
    stored = WorkspaceFile.objects.get(interview=interview, path="app/main.py")
    assert (stored.content, stored.version) == ("back\n", 4)
    joins = interview.events.filter(kind=TimelineEvent.Kind.JOINED).order_by("id")
    assert [j.data["took_over"] for j in joins] == [False, True, True]


def test_tabs_of_one_browser_and_a_second_click_on_the_link_do_not_take_over(
    interview_and_token: tuple[Interview, str],
) -> None:
    interview, token = interview_and_token
    interview_services.interview_start(interview=interview, actor="ivy")
    browser = candidate_client(token)

    async def scenario() -> list[dict]:
        tab1, _ = await connect("/ws/room/", browser)
        await until(tab1, lambda m: m["type"] == "state")
        # The same browser follows the invite link again (a bookmark, a second tab).
        assert (await post(browser, f"/i/{token}"))["Location"] == "/room/"
        tab2, _ = await connect("/ws/room/", browser)
        await until(tab2, lambda m: m["type"] == "state")
        replies = [(await request(tab, {"type": "ping"}, 1))[0] for tab in (tab1, tab2)]
        for tab in (tab1, tab2):
            await tab.disconnect()
        return replies

    assert [r["type"] for r in run(scenario)] == ["pong", "pong"]
    assert interview.events.filter(kind=TimelineEvent.Kind.JOINED).count() == 1


def test_the_invite_page_says_the_interview_is_open_elsewhere(
    interview_and_token: tuple[Interview, str],
) -> None:
    _, token = interview_and_token
    first = Client()
    assert b"open in another browser" not in first.get(f"/i/{token}").content
    first.post(f"/i/{token}")
    assert b"open in another browser" not in first.get(f"/i/{token}").content
    assert b"open in another browser" in Client().get(f"/i/{token}").content


@pytest.mark.parametrize("who", ["anonymous", "outsider", "interviewer"])
def test_only_the_candidates_session_can_take_the_interview_back(
    interview_and_token: tuple[Interview, str], personas: dict[str, Any], who: str
) -> None:
    interview, token = interview_and_token
    candidate_client(token)
    client = Client() if who == "anonymous" else client_for(personas[who])

    response = client.post("/room/take-over")

    assert response.status_code == 403
    assert interview.events.filter(kind=TimelineEvent.Kind.JOINED).count() == 1
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.cookies = candidate_client(token).cookies
    assert csrf_client.post("/room/take-over").status_code == 403  # no CSRF token


def test_the_timeline_shows_each_browser_switch(
    interview_and_token: tuple[Interview, str],
) -> None:
    from review.selectors import replay_view

    interview, token = interview_and_token
    first = candidate_client(token)
    Client(HTTP_USER_AGENT=FIREFOX).post(f"/i/{token}")
    first.post("/room/take-over")

    summaries = [e.summary for e in replay_view(interview).events if e.kind == "joined"]
    assert summaries[1] == (
        "opened the interview in a second browser (Firefox on Windows); the first stopped editing"
    )
    assert summaries[2].startswith("went back to an earlier browser")
