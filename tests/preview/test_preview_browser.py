"""The live preview in a real Chromium against the real server (`manage.py serve`, which
serves the preview origin on its second port): both sides see the candidate's app, the
interviewer switches faults and watches the request log, and a hostile index.html can
reach nothing of the platform."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import CHROMIUM_ARGS, free_port, manage, serving
from tests.requirements import require_bwrap, require_chromium

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "preview"
SCREENSHOTS = REPO / "docs" / "screenshots"
PASSWORD = "pw-ivy-preview-1"
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = """
from django.contrib.auth.models import Group, User
from accounts.roles import INTERVIEWERS, ensure_roles
from exercises import catalog
from interviews import services
from interviews.models import Exercise
ensure_roles()
u = User.objects.create_user('ivy', password='{password}')
u.groups.add(Group.objects.get(name=INTERVIEWERS))
spec = catalog.find('cancellation')
files = {{p: d.decode() for p, d in spec.solution_files().items()}}
interview, token = services.interview_create(
    exercise=Exercise.objects.get(slug='cancellation'), candidate_name='Cara',
    candidate_email='cara@example.com', interviewers=[u], created_by=u, starter_files=files)
print('INTERVIEW', interview.pk, token)
"""

# The candidate's hostile page: it tries the platform's cookies, its console API and
# its console websocket, and the page it is framed in; it writes what it got.
HOSTILE = """<!doctype html><html><body><h1 id="out">probing</h1><script>
const out = {{cookie: document.cookie}};
try {{ out.parent = String(window.parent.document.cookie); }}
catch (e) {{ out.parent = "blocked"; }}
function done() {{
  if ("api" in out && "ws" in out) document.getElementById("out").textContent = JSON.stringify(out);
}}
fetch("{platform}/interviews/{interview}/live", {{credentials: "include"}})
  .then(r => r.text()).then(t => {{ out.api = "read: " + t.slice(0, 80); }})
  .catch(() => {{ out.api = "blocked"; }}).finally(done);
const ws = new WebSocket("{ws}/ws/console/{interview}/");
ws.onopen = () => {{ out.ws = "open"; done(); }};
ws.onerror = () => {{ out.ws = out.ws || "refused"; done(); }};
ws.onclose = () => {{ out.ws = out.ws || "refused"; done(); }};
</script></body></html>"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    preview_port = free_port()
    env.update(
        FAULTLINE_VAR_DIR=str(tmp_path / "var"),
        DEBUG="1",
        FAULTLINE_PREVIEW_PORT=str(preview_port),
    )
    manage(env, "migrate", "--noinput")
    manage(env, "sync_exercises")
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SETUP.format(password=PASSWORD)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    _, interview, token = next(
        line for line in out.splitlines() if line.startswith("INTERVIEW")
    ).split()
    try:
        with serving(env, tmp_path / "server.log", attempts=300, stop_seconds=20) as base:
            yield {"base": base, "interview": int(interview), "link": f"{base}/i/{token}"}
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "server.log", ARTIFACTS / "server.log")


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def save_file(page: Any, path: str, content: str) -> None:
    """Save a file as the editor does: an edit over the room's socket, on its version."""
    result = page.evaluate(
        """([path, content]) => new Promise((resolve, reject) => {
          const ws = new WebSocket(`ws://${location.host}/ws/room/`);
          ws.onmessage = (m) => {
            const msg = JSON.parse(m.data);
            if (msg.type === "state") {
              const file = msg.files.find((f) => f.path === path);
              ws.send(JSON.stringify({type: "edit", seq: 1, path, content,
                                      base_version: file.version}));
            } else if (msg.seq === 1) { ws.close(); resolve(msg.type); }
          };
          ws.onerror = () => reject(new Error("socket failed"));
        })""",
        [path, content],
    )
    assert result == "saved", result


def test_the_live_preview_in_a_browser(server: dict[str, Any]) -> None:
    chromium = require_chromium()
    require_bwrap()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            _flow(browser, server, expect)
        finally:
            browser.close()
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(ARTIFACTS / "candidate-preview.png", SCREENSHOTS / "candidate-preview.png")
        shutil.copy(ARTIFACTS / "console-preview.png", SCREENSHOTS / "interviewer-preview.png")


def _flow(browser: Any, server: dict[str, Any], expect: Any) -> None:
    base, interview = server["base"], server["interview"]
    size = {"width": 1440, "height": 900}
    staff = browser.new_context(viewport=size, base_url=base).new_page()
    staff.goto("/")
    staff.fill("input[name=username]", "ivy")
    staff.fill("input[name=password]", PASSWORD)
    staff.click("button[type=submit]")
    staff.goto(f"/interviews/{interview}/")
    cand = browser.new_context(viewport=size).new_page()
    cand.goto(server["link"])
    cand.click("[data-testid=join]")
    staff.click("#start")
    expect(cand.locator("[data-testid=lobby]")).to_be_hidden()

    # Both sides open the preview: the exercise's own page, served by the candidate's app.
    cand.click("[data-testid=preview-toggle]")
    expect(cand.locator("#preview-drawer")).to_be_visible()
    app = cand.frame_locator("[data-testid=preview-frame]")
    expect(app.locator("h1")).to_have_text("Research assistant")
    staff.click("[data-testid=preview-toggle]")
    expect(staff.frame_locator("[data-testid=preview-frame]").locator("h1")).to_have_text(
        "Research assistant"
    )

    # The candidate changes the app; the preview shows the new code by itself.
    index = (REPO / "exercises/cancellation/solution/static/index.html").read_text()
    save_file(
        cand, "static/index.html", index.replace("Research assistant</h1>", "Paper helper</h1>")
    )
    expect(app.locator("h1")).to_have_text("Paper helper")
    cand.click("[data-preview-tab=logs]")
    expect(cand.locator("[data-testid=preview-logs]")).to_contain_text("answered /healthz")
    cand.click("[data-preview-tab=app]")

    # The interviewer switches to slow: the candidate's next answer takes 2 s or more,
    # and the request log shows the fault.
    staff.click("[data-preview-tab=faults]")
    staff.click("[data-testid=switchboard] [data-scenario=slow]")
    expect(staff.locator("[data-testid=switchboard] .scenario.active")).to_have_attribute(
        "data-scenario", "slow"
    )
    app.locator("#question").fill("Does retrieval reduce hallucination?")
    asked = time.monotonic()
    app.locator("#ask-button").click()
    # Any text of the model's (notes or answer) comes from the provider, after its delay.
    expect(app.locator("#answer")).to_contain_text("Based on the papers", timeout=60_000)
    assert time.monotonic() - asked >= 2.0
    staff.click("[data-preview-tab=requests]")
    expect(staff.locator("[data-testid=request-log]")).to_contain_text("slow: answers after")
    shot(cand, "candidate-preview")

    # Cancellation: a long answer streams, the candidate closes the preview mid-answer,
    # and the log shows the call cancelled by the client.
    staff.click("[data-preview-tab=faults]")
    staff.click("[data-testid=switchboard] [data-scenario=long-answer]")
    expect(staff.locator("[data-testid=switchboard] .scenario.active")).to_have_attribute(
        "data-scenario", "long-answer"
    )
    app.locator("#question").fill("What reduces hallucination the most?")
    app.locator("#ask-button").click()
    staff.click("[data-preview-tab=requests]")
    expect(staff.locator("[data-testid=request-log]")).to_contain_text("long-answer")
    expect(staff.locator("[data-testid=request-row]").first).to_contain_text("in progress")
    cand.click("[data-testid=preview-toggle]")  # closes the preview: the iframe is gone
    expect(staff.locator("[data-testid=request-log]")).to_contain_text("cancelled by client")
    shot(staff, "console-preview")

    # A hostile index.html: no platform cookie, no console API, no console websocket.
    hostile = HOSTILE.format(
        platform=base, ws=base.replace("http://", "ws://"), interview=interview
    )
    save_file(cand, "static/index.html", hostile)
    cand.click("[data-testid=preview-toggle]")
    out = app.locator("#out")
    expect(out).not_to_have_text("probing")
    got = json.loads(out.text_content() or "{}")
    assert got["cookie"] == ""
    assert got["parent"] == "blocked"
    assert got["api"] == "blocked"
    assert got["ws"] == "refused"
    # And the interviewer's own frame of it got no further.
    staff.click("[data-preview-tab=app]")
    theirs = staff.frame_locator("[data-testid=preview-frame]").locator("#out")
    expect(theirs).not_to_have_text("probing")
    assert json.loads(theirs.text_content() or "{}") == got
