"""A hiring manager in a real Chromium, against the real server: list -> scorecard -> decision.

The server is started as a subprocess on a free port with its own database;
graded demo interviews are created with `seed_review_demo` (no sandbox needed).
Screenshots go to test-artifacts/; with UPDATE_SCREENSHOTS=1 the scorecard also
goes to docs/screenshots/ for the README.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_server import chromium, manage, serving

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
ARTIFACT_SCORECARD = ARTIFACTS / "review-scorecard.png"
SCREENSHOT = REPO / "docs" / "screenshots" / "scorecard.png"
STARTUP_SECONDS = 90  # waiting for readiness only; nothing here asserts on speed

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    var = tmp_path_factory.mktemp("review-browser-var")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update({"FAULTLINE_VAR_DIR": str(var), "DEBUG": "1", "PYTHONUNBUFFERED": "1"})
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "sync_exercises")
    manage(env, "seed_demo", "--skip-grading")
    manage(env, "seed_review_demo")
    # About STARTUP_SECONDS: a refused connection is retried every 0.1 s.
    with serving(env, var / "server.log", attempts=STARTUP_SECONDS * 10, stop_seconds=20) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


def test_hiring_manager_goes_from_the_list_to_a_recorded_decision(server, browser) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # A candidate or a stranger who opens the review is sent to log in.
    page.goto(f"{server}/review/")
    expect(page).to_have_url(f"{server}/accounts/login/?next=/review/")
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", "faultline-demo")
    page.click("button[type=submit]")

    # The list: every graded demo interview with its score and bars.
    expect(page).to_have_url(f"{server}/review/")
    table = page.get_by_test_id("review-list")
    for name in ("Riley Reference", "Morgan Mutant", "Casey Crash"):
        expect(table).to_contain_text(name)
    page.select_option("select[name=sort]", "-overall")
    page.click("text=Apply")
    first_row = table.locator("tbody tr").first
    expect(first_row).to_contain_text("Riley Reference")
    page.screenshot(path=str(ARTIFACTS / "review-list.png"), full_page=True)

    # Compare two candidates of the same exercise.
    page.check("input[aria-label='Compare Riley Reference']")
    page.check("input[aria-label='Compare Morgan Mutant']")
    page.click("#compare-button")
    expect(page.get_by_test_id("compare")).to_contain_text("Error handling")
    expect(page.get_by_test_id("distribution")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "review-compare.png"), full_page=True)
    page.go_back()

    # The scorecard of the flawed candidate: evidence in plain words, output on demand.
    page.get_by_role("link", name="Morgan Mutant").click()
    expect(page.locator("h1")).to_have_text("Morgan Mutant")
    handling = page.locator("#criterion-error-handling")
    expect(handling).to_contain_text("survives a provider that fails with 500: no")
    expect(handling).to_contain_text("keeps serving normally after a provider fault: yes")
    expect(handling.locator(".rv-level-reached")).to_contain_text(
        "Provider error statuses or a missing usage crash the request (500)"
    )
    output = handling.locator("pre.rv-output").first
    expect(output).to_be_hidden()
    handling.locator("summary").first.click()
    expect(output).to_contain_text("got 500")
    expect(page.get_by_test_id("unrated")).to_contain_text("Product sense")
    expect(page.get_by_test_id("rubric-version")).to_contain_text("sha256:")
    page.screenshot(path=str(ARTIFACT_SCORECARD), full_page=True)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":  # the README's picture, on request
        shutil.copy(ARTIFACT_SCORECARD, SCREENSHOT)

    # Replay: the scrubber shows the code as it was.
    page.click("text=Replay")
    scrubber = page.get_by_test_id("scrubber")
    source = page.get_by_test_id("source")
    scrubber.fill("0")
    page.locator("#files [data-path='app/main.py']").click()
    expect(page.locator("#files [aria-selected=true]")).to_have_text("app/main.py")
    starter_text = source.text_content() or ""
    assert "metadata" not in starter_text  # the starter has no metadata yet
    last = scrubber.get_attribute("max")
    scrubber.fill(str(last))
    expect(page.locator("#scrubber-label")).to_have_text(f"{last} / {last}")
    expect(source).to_contain_text("metadata")  # the candidate's final code
    expect(page.locator(".rv-tl-current")).to_contain_text("graded")
    assert page.locator(".rv-diff").count() > 0
    page.screenshot(path=str(ARTIFACTS / "review-replay.png"))
    page.go_back()

    # The decision: hold, with a comment, recorded with who and when.
    form = page.get_by_test_id("decision-form")
    form.get_by_label("Hold").check()
    form.locator("textarea").fill("Strong on the happy path; lets provider errors escape as 500.")
    form.get_by_role("button", name="Record decision").click()
    expect(page.locator(".rv-msg-success")).to_have_text("Recorded: Hold for Morgan Mutant.")
    decisions = page.get_by_test_id("decisions")
    expect(decisions).to_contain_text("Hold")
    expect(decisions).to_contain_text("Hank Hiring-Manager")
    expect(decisions).to_contain_text("lets provider errors escape as 500")
    expect(page.locator(".rv-sub .rv-state")).to_have_text("Reviewed")
    page.screenshot(path=str(ARTIFACTS / "review-decision.png"), full_page=True)

    # Back on the list the decision shows.
    page.click("text=Reviews")
    row = page.get_by_test_id("review-list").locator("tr", has_text="Morgan Mutant")
    expect(row).to_contain_text("Hold")
    expect(row).to_contain_text("Reviewed")
    assert errors == []
    context.close()
