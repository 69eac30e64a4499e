"""The Terminal tab in a real Chromium against the real server (bwrap): the candidate runs
Python and curls their own app, the interviewer sees the same output and may type once
they switch it on, and a flood of output leaves the editor working."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.preview import test_preview_browser as preview_browser
from tests.preview.test_preview_browser import Server, open_interview, start_server
from tests.requirements import require_bwrap

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_bwrap()
    # The interviewer is a hiring manager too here: they open the replay at the end.
    setup = preview_browser.SETUP
    preview_browser.SETUP = setup + "u.groups.add(Group.objects.get(name='Hiring managers'))\n"
    try:
        made = start_server(tmp_path_factory.mktemp("terminal"), "bwrap", {"t": "cancellation"})
        started = next(made)
    finally:
        preview_browser.SETUP = setup
    yield started
    next(made, None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect

    from tests.live_server import chromium

    expect.set_options(timeout=60_000)
    with chromium() as launched:
        yield launched


def open_terminal(page: Any) -> Any:
    from playwright.sync_api import expect

    page.click("[data-testid=terminal-tab]")
    expect(page.locator("[data-testid=terminal]")).to_have_attribute("data-state", "running")
    return page.locator("[data-testid=terminal-screen] .xterm-rows")


def type_line(page: Any, text: str) -> None:
    page.locator("[data-testid=terminal-screen]").click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def test_the_terminal_in_a_browser(browser: Any, server: Server) -> None:
    from playwright.sync_api import expect

    staff, cand = open_interview(browser, server, "t")
    screen = open_terminal(cand)
    type_line(cand, 'python -c "print(6*7)"')
    expect(screen).to_contain_text("42")
    type_line(cand, "curl -s localhost:8000/healthz; echo ' <-health'")
    expect(screen).to_contain_text('"ok"')

    # The interviewer sees the same output, read-only until they switch typing on.
    watching = open_terminal(staff)
    expect(watching).to_contain_text("42")
    expect(watching).to_contain_text('"ok"')
    type_line(staff, "echo ignored''-input")
    staff.check("[data-testid=terminal-allow]")
    expect(cand.locator("[data-testid=terminal-typing]")).to_contain_text("can type")
    type_line(staff, "echo from''-the-pm")
    expect(screen).to_contain_text("from-the-pm")
    expect(screen).not_to_contain_text("ignored-input")

    # A flood of output: the editor keeps taking keystrokes and saving them; Ctrl-C stops it.
    type_line(cand, "yes flood''-flood")
    expect(screen).to_contain_text("flood-flood")
    cand.locator(".cm-content").first.click()
    cand.keyboard.press("Control+Home")  # the top: the interviewer's viewer shows it
    cand.keyboard.type("# typed during the flood\n")
    expect(cand.locator(".cm-content").first).to_contain_text("# typed during the flood")
    # Saved through the room's socket in the middle of the flood: the interviewer sees it.
    expect(staff.locator("#viewer")).to_contain_text("# typed during the flood")
    cand.locator("[data-testid=terminal-screen]").click()
    cand.keyboard.press("Control+C")
    type_line(cand, "clear; echo after''-flood")
    expect(screen).to_contain_text("after-flood")

    # The replay plays the terminal back beside the edits, and the scrubber moves it.
    interview, _ = server.interviews["t"]
    staff.once("dialog", lambda dialog: dialog.accept())
    staff.click("#end")
    expect(cand.locator("[data-testid=terminal]")).to_have_attribute("data-state", "exited")
    staff.goto(f"/review/{interview}/replay/")
    replayed = staff.locator("[data-testid=replay-terminal]")
    expect(replayed).to_contain_text("after-flood")  # the end: after the flood
    # Scrubbed back to the moments something was typed: one shows the 42, the flood not yet.
    typed = staff.locator("li.rv-tl", has_text="typed in the terminal")
    screens = []
    for i in range(typed.count()):
        typed.nth(i).locator("a").first.click()  # the scrubber moves there at once
        screens.append(replayed.text_content() or "")
    assert any("42" in text and "flood-flood" not in text for text in screens), screens
    staff.locator("[data-testid=scrubber]").fill("0")
    expect(replayed).to_have_text("")
