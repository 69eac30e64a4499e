"""A critical fault stands first, in plain words, in a real Chromium against the real server:
on the interviewer's console (its score panel) and on the hiring manager's /review/ list.

The graded interview is built straight through the models (no sandbox): its report is the
one cancellation's hidden suite gives a Stop that cancels every user's answer, scored by
the real rubric engine against the exercise's real rubric.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import CHROMIUM_ARGS, manage, serving
from tests.requirements import require_chromium

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "web"
PASSWORD = "pw-critical-1"
CANDIDATE = "Cleo <i>Cancels</i> Everyone"
# The plain words cancellation's hidden suite gives this fault (test_concurrency.py).
HARMS_OTHERS = "Cancels another user's answer"
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")

pytestmark = pytest.mark.browser


def _test(name: str, title: str, criterion: str, fails_to: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": name,
        "title": title,
        "criterion": criterion,
        "fails_to": fails_to,
        "outcome": "passed",
        "duration": 0.4,
        "output": "",
        **extra,
    }


def _report() -> dict[str, Any]:
    other = {"critical": HARMS_OTHERS, "outcome": "failed"}
    tests = [
        _test(
            "test_concurrency.py::test_leaving_does_not_touch_other_users",
            "when one user closes the tab, another user's answer still streams to the end",
            "concurrency",
            0,
            **other,
            output="AssertionError: user B's answer did not finish: ['created', 'cancelled']",
        ),
        _test(
            "test_concurrency.py::test_stop_does_not_touch_other_users",
            "when one user presses Stop, another user's answer still streams to the end",
            "concurrency",
            0,
            **other,
            output="AssertionError: user B's answer did not finish: ['created', 'cancelled']",
        ),
        _test(
            "test_cancellation.py::test_leaving_cancels_every_note_call",
            "closing the tab while papers are read cancels every parallel provider call",
            "cancellation-and-cleanup",
            1,
        ),
        _test(
            "test_integrity.py::test_left_mid_answer_is_stored_cancelled",
            "an answer whose reader left mid-synthesis is stored as cancelled, not complete",
            "data-integrity",
            0,
        ),
        _test(
            "test_correctness.py::test_streams_notes_then_answer",
            "streams created, a note per paper, the answer token by token, then done",
            "correctness",
            0,
        ),
        _test(
            "test_frontend.py::test_stopped_answer_is_shown_as_stopped",
            "shows a stopped answer as stopped, not as still running",
            "frontend-robustness",
            0,
        ),
    ]
    failed = sum(t["outcome"] == "failed" for t in tests)
    summary = {"passed": len(tests) - failed, "failed": failed, "error": 0, "skipped": 0}
    return {"tests": tests, "summary": {**summary, "total": len(tests), "seed": 0}}


SEED = """
import json
from datetime import timedelta
from django.contrib.auth.models import Group, User
from django.utils import timezone
import rubrics
from accounts.roles import HIRING_MANAGERS, INTERVIEWERS, ensure_roles
from grading.models import Scorecard, Snapshot, TestRun
from interviews.models import Exercise, Interview

ensure_roles()
ivy = User.objects.create_user("ivy", password=PASSWORD)
ivy.groups.add(Group.objects.get(name=INTERVIEWERS))
hana = User.objects.create_user("hana", password=PASSWORD)
hana.groups.add(Group.objects.get(name=HIRING_MANAGERS))
exercise = Exercise.objects.get(slug="cancellation")
start = timezone.now() - timedelta(hours=2)
interview = Interview.objects.create(
    exercise=exercise, exercise_version=exercise.version_hash, candidate_name=CANDIDATE,
    candidate_email="cleo@example.com", created_by=ivy, scheduled_at=start,
    duration_minutes=exercise.time_box_minutes, state=Interview.State.GRADED,
    started_at=start, ended_at=start + timedelta(minutes=50),
)
interview.interviewers.add(ivy)
report = json.loads(REPORT)
run = TestRun.objects.create(
    interview=interview, snapshot=Snapshot.of({"app/main.py": "# the candidate's app\\n"}),
    kind=TestRun.Kind.HIDDEN, suite_version=exercise.version_hash,
    state=TestRun.State.FAILED, requested_by="ivy", attempts=1, tests=report["tests"],
    result={"report": report, "summary": report["summary"], "output": ""},
    started_at=start + timedelta(minutes=50), finished_at=start + timedelta(minutes=51),
)
rubric = exercise.manifest["rubric"]
card = rubrics.score(rubrics.Rubric.from_dict(rubric), report).to_dict()
assert card["critical"], card
Scorecard.objects.create(
    interview=interview, test_run=run, rubric_version=card["rubric_version"],
    rubric=rubric, overall=card["overall"], data=card,
)
print(interview.pk)
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("critical-browser")
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(FAULTLINE_VAR_DIR=str(tmp / "var"), DEBUG="1")
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "sync_exercises")
    script = (
        f"PASSWORD = {PASSWORD!r}\nCANDIDATE = {CANDIDATE!r}\n"
        f"REPORT = {json.dumps(_report())!r}\n{SEED}"
    )
    manage(env, "shell", "-c", script)
    with serving(env, tmp / "server.log") as base:
        yield {"base": base}


def _login(browser: Any, base: str, username: str) -> Any:
    page = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=base).new_page()
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    return page


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_critical_fault_stands_first_on_the_console_and_the_review_list(site) -> None:
    chromium = require_chromium()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            _console_and_list(browser, site["base"], expect)
        finally:
            browser.close()


def _console_and_list(browser: Any, base: str, expect: Any) -> None:
    # The interviewer's console: the score panel opens with the fault, above the overall.
    staff = _login(browser, base, "ivy")
    staff.locator("a.name", has_text=CANDIDATE).click()
    # The tabs answer once the console's script has run (it sets this last): a click
    # before that is lost on a loaded machine.
    staff.wait_for_function("() => window.faultlineConsole !== undefined")
    staff.click("[data-panel=panel-score]")
    scorecard = staff.get_by_test_id("scorecard")
    overall = scorecard.get_by_test_id("overall")
    expect(overall).to_be_visible()
    fault = scorecard.get_by_test_id("critical")
    expect(fault).to_have_text(HARMS_OTHERS)  # once, though two tests found it
    expect(scorecard.locator(":scope > *").first).to_have_text("Critical faults")
    assert fault.bounding_box()["y"] < overall.bounding_box()["y"]
    expect(overall).to_have_text("60")  # capped by the fault
    _shot(staff, "console-critical")

    # The hiring manager's list: the fault is the first thing said about the candidate,
    # before the overall, in the same words; the candidate's name is text, not markup.
    manager = _login(browser, base, "hana")
    manager.goto("/review/")
    row = manager.get_by_test_id("review-list").locator("tbody tr", has_text=CANDIDATE)
    expect(row).to_have_count(1)
    badge = row.get_by_test_id("critical")
    expect(badge).to_have_text(HARMS_OTHERS)
    text = row.inner_text()
    assert text.index(HARMS_OTHERS) < text.index("60"), text
    assert badge.bounding_box()["x"] < row.locator(".rv-score").bounding_box()["x"]
    _shot(manager, "review-list-critical")

    # Its scorecard says the same first, and why the overall is what it is.
    row.get_by_role("link", name=CANDIDATE).click()
    expect(manager).to_have_url(re.compile(r"/review/\d+/$"))
    callout = manager.locator("section[data-testid=critical]")
    expect(callout).to_contain_text(HARMS_OTHERS)
    expect(callout).to_contain_text("The overall is capped at 60")
    page_overall = manager.get_by_test_id("overall")
    assert callout.bounding_box()["y"] < page_overall.bounding_box()["y"]
