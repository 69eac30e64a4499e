"""What a person sees in the room, the console and the dashboard, in a real Chromium at 1440 px.

One server for the module (`manage.py serve`, embedded mode); interviews are made by a
shell command that prints their invite links. No test here runs a sandbox.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.live_server import REPO, chromium, manage, serving
from tests.requirements import require_chromium

PASSWORD = "pw-ivy-room-1"
LONG_NAME = "Maximiliana Alexandrina Featherstonehaugh-Worthington"
SIZE = {"width": 1440, "height": 900}
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")

pytestmark = [pytest.mark.browser]

SEED = """
import json
from datetime import timedelta
from django.contrib.auth.models import Group, User
from django.utils import timezone
from accounts.roles import INTERVIEWERS, ensure_roles
from interviews import services
from interviews.models import CandidateInvite, Exercise
from web.selectors import starter_files
ensure_roles()
ivy = User.objects.create_user("ivy", password="%(password)s")
ivy.groups.add(Group.objects.get(name=INTERVIEWERS))
exercise = Exercise.objects.get(slug="sync-to-streaming")
files = {**starter_files(exercise), "conftest.py": "", "app/conftest.py": "",
         "tests/conftest.py": ""}
out = {}
for key, name in [("room", "%(long)s"), ("revoke", "Rey Revoked"), ("expired", "Exa Expired")]:
    interview, token = services.interview_create(
        exercise=exercise, candidate_name=name, candidate_email=key + "@example.com",
        interviewers=[ivy], created_by=ivy, starter_files=files,
        scheduled_at=timezone.now() + timedelta(hours=2),
    )
    out[key] = {"id": interview.pk, "token": token}
CandidateInvite.objects.filter(interview_id=out["expired"]["id"]).update(
    expires_at=timezone.now() - timedelta(minutes=5))
print("SEED" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_chromium()
    var = tmp_path_factory.mktemp("room-browser-var")
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(FAULTLINE_VAR_DIR=str(var), DEBUG="1", PYTHONUNBUFFERED="1")
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "sync_exercises")
    seeded = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            SEED % {"password": PASSWORD, "long": LONG_NAME},
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    interviews = json.loads(seeded.stdout.split("SEED", 1)[1])
    with serving(env, var / "server.log", attempts=600) as base:
        yield {"base": base, "interviews": interviews}


@pytest.fixture(scope="module")
def browser(site: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    with chromium() as launched:
        yield launched


def staff_page(browser: Any, base: str) -> Any:
    page = browser.new_context(viewport=SIZE, base_url=base).new_page()
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "ivy")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/interviews/")
    return page


def candidate_page(browser: Any, base: str, token: str) -> Any:
    page = browser.new_context(viewport=SIZE, base_url=base).new_page()
    page.goto(f"/i/{token}")
    page.click("[data-testid=join]")
    page.wait_for_url("**/room/")
    return page


# Every element of the header whose text does not fit its box (scrollWidth > clientWidth),
# and whether the header itself overflows the window.
CUT_OFF = """() => {
  const bar = document.querySelector('.topbar');
  const cut = [...bar.querySelectorAll('*')]
    .filter((e) => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
    .map((e) => `${e.id || e.className}: ${e.textContent.trim()}`);
  if (bar.scrollWidth > bar.clientWidth + 1) cut.push(`the header: ${bar.scrollWidth} px`);
  return cut;
}"""


def test_the_room_and_console_at_1440_px(browser: Any, site: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    base, room = site["base"], site["interviews"]["room"]
    staff = staff_page(browser, base)
    staff.goto(f"/interviews/{room['id']}/")
    cand = candidate_page(browser, base, room["token"])
    expect(cand.locator("[data-testid=lobby]")).to_be_visible()
    staff.click("#start")
    expect(cand.locator("[data-testid=lobby]")).to_be_hidden()
    staff.click("#reveal")

    # The first task's wrapped list item keeps its second line inside its <li>.
    item = cand.locator("[data-testid=tasks] li", has_text="the next piece of the answer")
    expect(item).to_contain_text("gives the whole answer, exactly")
    expect(cand.locator("[data-testid=tasks] .md > p", has_text="gives the whole")).to_have_count(0)

    # Three conftest.py tabs say which folder each one is in.
    for path in ["conftest.py", "app/conftest.py", "tests/conftest.py"]:
        cand.click(f"[data-testid=file-tree] li[data-path='{path}']")
    tabs = cand.locator("#tabs .tab", has_text="conftest.py")
    expect(tabs).to_have_count(3)
    labels = [" ".join(t.split()) for t in tabs.locator(".tab-label").all_inner_texts()]
    assert sorted(labels) == ["conftest.py ./", "conftest.py app", "conftest.py tests"], labels

    # Many open tabs scroll inside their bar; the page itself never gets wider.
    for path in cand.locator("[data-testid=file-tree] li[data-path]").evaluate_all(
        "(items) => items.map((i) => i.dataset.path)"
    ):
        cand.click(f"[data-testid=file-tree] li[data-path='{path}']")
    bar = cand.locator("#tabs").evaluate(
        "(b) => ({bar: b.scrollWidth > b.clientWidth, page: document.documentElement.scrollWidth,"
        " window: innerWidth, right: b.getBoundingClientRect().right,"
        " area: b.parentElement.getBoundingClientRect().right,"
        " active: b.querySelector('.tab.active').getBoundingClientRect().right <="
        " b.getBoundingClientRect().right + 1})"
    )
    assert bar["bar"] and bar["page"] <= bar["window"] and bar["right"] <= bar["area"] + 1, bar
    assert bar["active"], bar

    # The header shows the long name and the status in full, online and offline.
    cut = staff.evaluate(CUT_OFF)
    assert cut == [], cut
    assert cand.evaluate(CUT_OFF) == []
    expect(staff.locator(".topbar")).to_contain_text(LONG_NAME)
    cand.context.set_offline(True)
    expect(cand.locator("#connection")).to_have_attribute("data-status", "offline")
    assert cand.evaluate(CUT_OFF) == []
    cand.context.set_offline(False)
    expect(cand.locator("#connection")).to_have_attribute("data-status", "online")

    # A file under .faultline/ is refused, and the candidate is told why.
    cand.once("dialog", lambda d: d.accept(".faultline/tests/test_mine.py"))
    cand.click("#new-file")
    expect(cand.locator(".toast")).to_contain_text(".faultline/ is Faultline's own folder")
    expect(cand.locator("[data-testid=file-tree] li[data-path^='.faultline']")).to_have_count(0)


def test_revoke_asks_first_and_the_candidate_is_told(browser: Any, site: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    base, invite = site["base"], site["interviews"]["revoke"]
    cand = candidate_page(browser, base, invite["token"])
    expect(cand.locator("[data-testid=lobby]")).to_be_visible()
    staff = staff_page(browser, base)
    row = staff.locator(f"[data-interview='{invite['id']}']")
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    staff.once("dialog", dismiss)
    row.locator("[data-testid=revoke]").click()
    expect(row.locator("[data-testid=revoke]")).to_be_visible()  # nothing happened
    assert asked and "Rey Revoked" in asked[0] and "stops working at once" in asked[0]
    expect(cand.locator("[data-testid=lobby]")).to_be_visible()

    staff.once("dialog", lambda d: d.accept())
    row.locator("[data-testid=revoke]").click()
    expect(
        staff.locator(f"[data-interview='{invite['id']}'] [data-testid=invite-state]")
    ).to_have_text("Link revoked")
    expect(cand.locator("[data-testid=closed]")).to_be_visible()
    expect(cand.locator("[data-testid=closed]")).to_contain_text("Your invite link was revoked")
    expect(cand.locator("[data-testid=lobby]")).to_be_hidden()


def test_an_expired_link_on_the_dashboard_and_for_the_candidate(
    browser: Any, site: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    base, invite = site["base"], site["interviews"]["expired"]
    staff = staff_page(browser, base)
    row = staff.locator(f"[data-interview='{invite['id']}']")
    expect(row.locator("[data-testid=invite-state]")).to_contain_text("Link expired")
    expect(row.get_by_text("Copy link")).to_have_count(0)
    cand = browser.new_context(viewport=SIZE, base_url=base).new_page()
    cand.goto(f"/i/{invite['token']}")
    expect(cand.locator("h1")).to_have_text("This invite link has expired")
    row.locator("[data-testid=reissue]").click()
    row = staff.locator(f"[data-interview='{invite['id']}']")
    expect(row.get_by_text("Copy link")).to_be_visible()
    expect(row.locator("[data-testid=invite-state]")).to_contain_text("Link valid until")


def test_an_interviewer_opening_review_gets_a_page_with_a_way_back(
    browser: Any, site: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    staff = staff_page(browser, site["base"])
    staff.goto("/review/")
    expect(staff.locator("[data-testid=error-page] h1")).to_have_text("You cannot open this page")
    expect(staff.locator("[data-testid=message]")).to_contain_text("hiring manager role")
    staff.click("[data-testid=way-back]")
    staff.wait_for_url("**/interviews/")


def test_a_click_made_before_the_page_script_ran_is_not_lost(
    browser: Any, site: dict[str, Any]
) -> None:
    # On a slow load the page shows before its script runs: the console's script is held
    # back here until after the interviewer has clicked the Rating tab and Preview.
    from playwright.sync_api import expect

    staff = staff_page(browser, site["base"])
    held: list[Any] = []
    staff.route("**/web/dist/console.js", lambda route: held.append(route))
    staff.goto(f"/interviews/{site['interviews']['revoke']['id']}/", wait_until="commit")
    rating = staff.locator("[role=tab][data-panel=panel-score]")
    expect(rating).to_be_visible()
    rating.click()
    for _ in range(400):  # the route's handler runs while Playwright waits
        if held:
            break
        staff.wait_for_timeout(50)
    assert held, "the console's script was requested and held back"
    expect(rating).not_to_have_class("active")  # nothing could act on the click yet
    for route in held:
        route.continue_()
    expect(rating).to_have_class("active")
    expect(staff.locator("#panel-score")).to_be_visible()
