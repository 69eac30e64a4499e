"""The whole interview in a real Chromium against the real server (`manage.py serve`)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import CHROMIUM_ARGS, manage, serving
from tests.requirements import require_bwrap, require_chromium

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "web"
SCREENSHOTS = REPO / "docs" / "screenshots"
PASSWORD = "pw-ivy-browser-1"
NOTE = "Private: hesitated on timeouts"
# Only the embedded shape is started here; the production pass has its own services.
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with running_server(tmp_path) as base:
        yield base


def server_env(tmp_path: Path) -> dict[str, str]:
    """The environment of the server running_server(tmp_path) starts (for manage.py too)."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(FAULTLINE_VAR_DIR=str(tmp_path / "var"), DEBUG="1")
    return env


@contextlib.contextmanager
def running_server(tmp_path: Path) -> Iterator[str]:
    """`manage.py serve` in embedded mode with interviewer ivy; yields its base URL."""
    env = server_env(tmp_path)
    manage(env, "migrate", "--noinput")
    manage(env, "sync_exercises")
    manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth.models import Group, User\n"
        "from accounts.roles import INTERVIEWERS, ensure_roles\n"
        "ensure_roles()\n"
        f"u = User.objects.create_user('ivy', password='{PASSWORD}')\n"
        "u.groups.add(Group.objects.get(name=INTERVIEWERS))\n",
    )
    try:
        with serving(env, tmp_path / "server.log") as base:
            yield base
    finally:
        shutil.copy(tmp_path / "server.log", _artifacts() / "server.log")


def _artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(_artifacts() / f"{name}.png"))


def test_the_whole_interview_in_a_browser(server: str) -> None:
    chromium = require_chromium()
    require_bwrap()
    from playwright.sync_api import expect, sync_playwright

    # Generous: CI machines run other suites at the same time.
    expect.set_options(timeout=30_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            _flow(browser, server, expect)
        finally:
            browser.close()
    # The README's pictures are refreshed on request only, so a test run leaves the
    # working tree clean: UPDATE_SCREENSHOTS=1 .venv/bin/pytest tests/web tests/review
    if os.environ.get("UPDATE_SCREENSHOTS") != "1":
        return
    for name, target in [
        ("01-dashboard", "dashboard"),
        ("05-candidate-ide", "candidate-ide"),
        ("06-candidate-results", "candidate-results"),
        ("04-console-live", "interviewer-console"),
        ("08-console-score", "interviewer-score"),
    ]:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(ARTIFACTS / f"{name}.png", SCREENSHOTS / f"{target}.png")


def _flow(browser: Any, base: str, expect: Any) -> None:
    size = {"width": 1440, "height": 900}
    staff = browser.new_context(viewport=size, base_url=base).new_page()
    staff.on("dialog", lambda d: d.accept())

    # The interviewer logs in and schedules an interview.
    staff.goto("/")
    staff.fill("input[name=username]", "ivy")
    staff.fill("input[name=password]", PASSWORD)
    staff.click("button[type=submit]")
    staff.fill("input[name=candidate_name]", "Cara <b>Candidate</b>")
    staff.fill("input[name=candidate_email]", "cara@example.com")
    staff.fill("input[name=duration_minutes]", "45")
    staff.click("[data-testid=schedule-form] button[type=submit]")
    link = staff.input_value("[data-testid=list-upcoming] [data-testid=invite-link]")
    expect(staff.locator("[data-testid=list-upcoming]")).to_contain_text("Cara <b>Candidate</b>")
    shot(staff, "01-dashboard")
    staff.click("[data-testid=list-upcoming] >> text=Open console")
    expect(staff.locator("#start")).to_be_visible()

    # The candidate opens the link, joins, and waits in the lobby.
    cand_context = browser.new_context(viewport=size)
    cand = cand_context.new_page()
    cand.on("dialog", lambda d: d.accept())
    frames: list[str] = []
    cand.on(
        "websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload)))
    )
    cand.goto(link)
    shot(cand, "02-invite")
    cand.click("[data-testid=join]")
    assert cand.url.endswith("/room/") and "/i/" not in cand.url
    expect(cand.locator("[data-testid=lobby]")).to_be_visible()
    shot(cand, "03-lobby")

    # The interviewer starts; the candidate's IDE opens and they edit a file.
    staff.click("#start")
    expect(cand.locator("[data-testid=lobby]")).to_be_hidden()
    cand.click("[data-testid=file-tree] li[data-path='app/main.py']")
    cand.click(".cm-content")
    cand.keyboard.press("Control+End")
    cand.keyboard.type("\n# candidate was here\n")
    expect(cand.locator("[data-testid=save-status]")).to_have_text("All changes saved")

    # The interviewer sees the edit and the file the candidate is in, and reveals a task.
    expect(staff.locator("[data-testid=viewer]")).to_contain_text("# candidate was here")
    expect(staff.locator("[data-testid=current-file]")).to_contain_text("app/main.py")
    staff.click("#reveal")
    expect(staff.locator("#reveal")).to_contain_text("Reveal task 2")
    shot(staff, "04-console-live")

    # The candidate sees the task at once, runs the tests and sees the results.
    expect(cand.locator("[data-testid=tasks] .task")).to_have_count(1)
    expect(cand.locator("[data-testid=tasks]")).to_contain_text("Add metadata to the answer")
    shot(cand, "05-candidate-ide")
    cand.click("#run-tests")
    finished = cand.locator("[data-testid=runs] .run").first.locator(".badge")
    expect(finished).to_have_text(__import__("re").compile("passed|failed"), timeout=120_000)
    expect(cand.locator("[data-testid=runs] .test").first).to_be_visible()
    shot(cand, "06-candidate-results")

    # Chat both ways; a note the candidate never receives.
    cand.click("#tab-chat")
    cand.fill("#chat-input", "Should metadata be optional? <img src=x onerror=alert(1)>")
    cand.press("#chat-input", "Enter")
    staff.click("[data-panel=panel-chat]")
    expect(staff.locator("[data-testid=chat]")).to_contain_text("<img src=x onerror=alert(1)>")
    staff.fill("#chat-input", "Yes: older clients must keep working.")
    staff.press("#chat-input", "Enter")
    expect(cand.locator("[data-testid=chat]")).to_contain_text("older clients must keep working")
    staff.click("[data-panel=panel-notes]")
    staff.fill("#note-input", NOTE)
    staff.click("#note-form button[type=submit]")
    expect(staff.locator("[data-testid=notes]")).to_contain_text(NOTE)
    shot(staff, "07-console-notes")

    # The interviewer rates, ends the interview, and the score appears.
    staff.click("[data-panel=panel-score]")
    criterion = staff.locator("form.criterion").first
    criterion.locator("input[name=level]").nth(2).check()
    criterion.locator("button[type=submit]").click()
    staff.click("#end")
    expect(staff.locator("#state")).to_have_text(__import__("re").compile("ended|graded"))
    expect(cand.locator("[data-testid=ended]")).to_be_visible()
    expect(staff.locator("[data-testid=overall]")).to_be_visible(timeout=180_000)
    shot(staff, "08-console-score")
    shot(cand, "09-candidate-ended")

    # Nothing private ever reached the candidate's browser.
    assert NOTE not in cand.content()
    assert not any(NOTE in f for f in frames)
    assert not any('"kind":"note"' in f or '"kind":"scorecard"' in f for f in frames)
    cand_context.close()
