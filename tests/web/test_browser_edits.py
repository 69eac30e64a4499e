"""Edits the server refuses, and a link that dies: what the candidate sees in a real Chromium.

Issue 18: a paste holding a NUL character left the page saying "Saving…" for
good, blocked every later save of that file, and Submit still said
"Submitted"; with a dead connection the page kept saying "Connected"; an
interview ended with nothing grading it stayed "Ended" with no way out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import chromium, manage
from tests.requirements import require_bwrap, require_chromium
from tests.web.test_browser_flow import PASSWORD, running_server, server_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SIZE = {"width": 1440, "height": 900}
TYPED_AFTER = "2  # typed on after the paste"


@pytest.fixture(scope="module")
def server_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("edits-server")


@pytest.fixture(scope="module")
def base(server_dir: Path) -> Iterator[str]:
    with running_server(server_dir) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    require_bwrap()
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)  # CI machines run other suites at the same time
    with chromium() as launched:
        yield launched


def live_room(browser: Any, base: str, name: str, route: Any = None) -> tuple[Any, Any, list[str]]:
    """The interviewer schedules and starts an interview; the candidate is in its IDE.

    Returns the console page, the room page and the frames the room sends.
    """
    from playwright.sync_api import expect

    staff = browser.new_context(viewport=SIZE, base_url=base).new_page()
    staff.on("dialog", lambda d: d.accept())
    staff.goto("/")
    staff.fill("input[name=username]", "ivy")
    staff.fill("input[name=password]", PASSWORD)
    staff.click("button[type=submit]")
    staff.fill("input[name=candidate_name]", name)
    staff.fill("input[name=candidate_email]", "cara@example.com")
    staff.click("[data-testid=schedule-form] button[type=submit]")
    row = staff.locator(".interview-row.highlight")
    link = row.locator("[data-testid=invite-link]").input_value()
    row.locator("text=Open console").click()
    cand = browser.new_context(viewport=SIZE).new_page()
    cand.on("dialog", lambda d: d.accept())
    sent: list[str] = []
    cand.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(str(payload))))
    if route is not None:
        cand.route_web_socket(re.compile(r"/ws/room/$"), route)
    cand.goto(link)
    cand.click("[data-testid=join]")
    expect(cand.locator("[data-testid=lobby]")).to_be_visible()
    staff.click("#start")
    expect(cand.locator("[data-testid=lobby]")).to_be_hidden()
    cand.click("[data-testid=file-tree] li[data-path='app/main.py']")
    cand.click(".cm-content")
    cand.keyboard.press("Control+End")
    return staff, cand, sent


def paste(page: Any, text: str) -> None:
    """A real paste event into the editor, as the clipboard would deliver it."""
    page.evaluate(
        """(text) => {
            const data = new DataTransfer();
            data.setData("text/plain", text);
            const target = document.querySelector(".cm-content");
            const init = {clipboardData: data, bubbles: true, cancelable: true};
            target.dispatchEvent(new ClipboardEvent("paste", init));
        }""",
        text,
    )


def test_a_refused_paste_is_shown_does_not_block_later_saves_and_is_never_submitted(
    browser: Any, base: str
) -> None:
    from playwright.sync_api import expect

    staff, cand, sent = live_room(browser, base, "Nula Paste")
    cand.keyboard.type("\nvalue = 1")
    expect(cand.locator("[data-testid=save-status]")).to_have_text("All changes saved")

    paste(cand, "\u0000")
    cand.keyboard.type(TYPED_AFTER)
    status = cand.locator("[data-testid=save-status]")
    # The server's reason, where the candidate looks: the indicator, the tab, the file.
    expect(status).to_contain_text("Not saved")
    expect(status).to_contain_text("app/main.py")
    expect(status).to_contain_text("NUL character")
    expect(cand.locator("#tabs .tab.refused [data-testid=save-refused]")).to_be_visible()
    tree = cand.locator("[data-testid=file-tree]")
    expect(tree.locator("li.refused[data-path='app/main.py']")).to_be_visible()

    # Submit does not claim success on code the server does not have.
    cand.click("#submit")
    expect(cand.locator(".toast", has_text="Not submitted")).to_be_visible()
    expect(cand.locator("#submission")).to_be_hidden()
    assert any('"type":"edit"' in frame for frame in sent)  # the frames are seen
    assert not any('"type":"submit"' in frame for frame in sent)

    # The candidate deletes the bad character: the very next edit saves.
    cand.click(".cm-content")
    cand.keyboard.press("Control+End")  # the end of the line typed above
    for _ in range(len(TYPED_AFTER)):
        cand.keyboard.press("ArrowLeft")
    cand.keyboard.press("Backspace")
    expect(status).to_have_text("All changes saved")
    expect(cand.locator("[data-testid=save-refused]")).to_have_count(0)
    viewer = staff.locator("[data-testid=viewer]")
    expect(viewer).to_contain_text("value = 1" + TYPED_AFTER)

    cand.click("#submit")
    expect(cand.locator("#submission")).to_be_visible()
    assert any('"type":"submit"' in frame for frame in sent)


def test_a_dead_link_shows_reconnecting_and_the_kept_edit_is_saved_after(
    browser: Any, base: str
) -> None:
    """The link dies without a close frame (as when the network drops): nothing arrives."""
    from playwright.sync_api import expect

    link = {"up": True}
    sockets: list[Any] = []

    def route(ws: Any) -> None:
        if not link["up"]:
            ws.close(code=4000, reason="no route")  # the network is still down
            return
        server = ws.connect_to_server()
        sockets.append(ws)
        # While the link is down both directions are black holes: no error, no close.
        ws.on_message(lambda m: link["up"] and server.send(m))
        server.on_message(lambda m: link["up"] and ws.send(m))

    staff, cand, _ = live_room(browser, base, "Dee Link", route=route)
    connection = cand.locator("#connection")
    status = cand.locator("[data-testid=save-status]")
    expect(connection).to_have_text("Connected")
    cand.keyboard.type("\nbefore = 1")
    expect(status).to_have_text("All changes saved")

    link["up"] = False
    cand.keyboard.type("\nduring = 2  # typed while the link was dead")
    # The heartbeat's pong never comes back: within 10 s the page says so.
    expect(connection).to_have_text("Reconnecting…", timeout=10_000)
    expect(status).to_have_text("Unsaved changes kept in this browser")
    viewer = staff.locator("[data-testid=viewer]")
    expect(viewer).to_contain_text("before = 1")
    expect(viewer).not_to_contain_text("during = 2")

    link["up"] = True
    expect(connection).to_have_text("Connected")
    expect(status).to_have_text("All changes saved")
    expect(viewer).to_contain_text("during = 2  # typed while the link was dead")
    assert len(sockets) >= 2, "the page opened a new connection"


def test_the_console_offers_grade_again_for_an_ended_interview_nothing_grades(
    browser: Any, base: str, server_dir: Path
) -> None:
    from playwright.sync_api import expect

    staff, _, _ = live_room(browser, base, "Enda Stuck")
    pk = int(re.search(r"/interviews/(\d+)/", staff.url).group(1))  # type: ignore[union-attr]
    # Ended the way the defect left interviews: no grading queued, none will come.
    manage(
        server_env(server_dir),
        "shell",
        "-c",
        "from django.utils import timezone\n"
        "from interviews.models import Interview\n"
        f"Interview.objects.filter(pk={pk}).update(state='ended', ended_at=timezone.now())\n",
    )
    staff.reload()
    notice = staff.locator("[data-testid=grading-error]")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("nothing is grading it")
    notice.locator("#regrade").click()
    expect(notice).to_be_hidden()
    expect(staff.locator("#state")).to_have_text("graded", timeout=180_000)
    staff.click("[data-panel=panel-score]")
    expect(staff.locator("[data-testid=overall]")).to_be_visible()
    expect(notice).to_be_hidden()
