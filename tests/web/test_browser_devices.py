"""Two browsers on one invite and two tabs in one browser, as the people see them (Chromium).

Presence: with two candidate tabs, closing one leaves "Candidate connected" on the
console, also after the console reloads. Devices: opening the invite in a second
browser takes the interview over; the first is told and stops editing, and can take
it back; the console says so.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import CHROMIUM_ARGS
from tests.requirements import require_chromium
from tests.web.test_browser_flow import PASSWORD, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZE = {"width": 1440, "height": 900}
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


def test_two_tabs_and_two_browsers_on_one_invite(tmp_path: Path) -> None:
    chromium = require_chromium()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)
    with running_server(tmp_path) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            _flow(browser, base, expect)
        finally:
            browser.close()


def _type(page: Any, text: str) -> None:
    page.click("[data-testid=file-tree] li[data-path='app/main.py']")
    page.click(".cm-content")
    page.keyboard.press("Control+End")
    page.keyboard.type(text)


def _flow(browser: Any, base: str, expect: Any) -> None:
    staff = browser.new_context(viewport=SIZE, base_url=base).new_page()
    staff.on("dialog", lambda d: d.accept())
    staff.goto("/")
    staff.fill("input[name=username]", "ivy")
    staff.fill("input[name=password]", PASSWORD)
    staff.click("button[type=submit]")
    staff.fill("input[name=candidate_name]", "Cara Candidate")
    staff.fill("input[name=candidate_email]", "cara@example.com")
    staff.fill("input[name=duration_minutes]", "45")
    staff.click("[data-testid=schedule-form] button[type=submit]")
    link = staff.input_value("[data-testid=list-upcoming] [data-testid=invite-link]")
    staff.click("[data-testid=list-upcoming] >> text=Open console")
    console_url = staff.url
    online = staff.locator("#candidate-online")
    expect(online).to_have_text("Candidate offline")
    staff.click("#start")

    # The candidate joins, then opens the room in a second tab of the same browser.
    first = browser.new_context(viewport=SIZE)
    tab1 = first.new_page()
    tab1.goto(link)
    tab1.click("[data-testid=join]")
    expect(tab1.locator("#connection")).to_have_text("Connected")
    tab2 = first.new_page()
    tab2.goto(tab1.url)
    expect(tab2.locator("#connection")).to_have_text("Connected")
    expect(online).to_have_text("Candidate connected · 2 tabs")

    # Closing one tab leaves the candidate connected, also for a reloaded console.
    tab2.close()
    expect(online).to_have_text("Candidate connected")
    staff.goto(console_url)
    expect(online).to_have_text("Candidate connected")
    expect(staff.locator("[data-testid=candidate-browser]")).to_be_hidden()

    _type(tab1, "\n# from the first browser\n")
    expect(tab1.locator("[data-testid=save-status]")).to_have_text("All changes saved")

    # The candidate opens the link in another browser: it takes the interview over.
    second = browser.new_context(viewport=SIZE, user_agent=FIREFOX).new_page()
    second.goto(link)
    expect(second.locator("[data-testid=open-elsewhere]")).to_be_visible()
    second.click("[data-testid=join]")
    expect(second.locator("#connection")).to_have_text("Connected")
    displaced = tab1.locator("[data-testid=displaced]")
    expect(displaced).to_be_visible()
    expect(displaced).to_contain_text("This interview was opened in another browser")
    expect(tab1.locator("#submit")).to_be_disabled()
    notice = staff.locator("[data-testid=candidate-browser]")
    expect(notice).to_contain_text("Opened in another browser (Firefox on Windows)")
    expect(online).to_have_text("Candidate connected")

    # Only the browser holding the interview edits; the first one's editor is read-only.
    _type(second, "# from the second browser\n")
    expect(second.locator("[data-testid=save-status]")).to_have_text("All changes saved")
    expect(staff.locator("[data-testid=viewer]")).to_contain_text("# from the second browser")
    assert tab1.locator(".cm-content").get_attribute("contenteditable") == "false"

    # The first browser takes it back; now the second one is told, and the console too.
    tab1.click("[data-testid=take-over]")
    expect(tab1.locator("#connection")).to_have_text("Connected")
    # Its text is the second browser's (the editor shows only the lines in view).
    tab1.wait_for_function(
        "() => window.faultlineRoom.files.get('app/main.py')"
        ".state.doc.toString().includes('# from the second browser')"
    )
    expect(second.locator("[data-testid=displaced]")).to_be_visible()
    expect(notice).to_contain_text(re.compile("Back in an earlier browser"))
    _type(tab1, "# first again\n")
    expect(tab1.locator("[data-testid=save-status]")).to_have_text("All changes saved")
    expect(staff.locator("[data-testid=viewer]")).to_contain_text("# first again")

    # Everyone gone: offline.
    first.close()
    second.context.close()
    expect(online).to_have_text("Candidate offline")
