"""The live preview in a real Chromium against the real server (`manage.py serve`, which
serves the preview origin on its second port): both sides see the candidate's app, the
interviewer switches faults and watches the request log, a hostile index.html can
reach nothing of the platform, every exercise's own page works through the preview,
and hostile apps (a crash, a hang, the wrong port, a fork bomb) are contained and
explained. One server serves every test of this module (each start costs seconds):
each test has its own interview."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import sandbox
from tests.live_server import chromium, free_port, manage, serving
from tests.requirements import require_bwrap
from tests.sandbox.conftest import host_processes_with, owned_leftovers

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "preview"
SCREENSHOTS = REPO / "docs" / "screenshots"
PASSWORD = "pw-ivy-preview-1"
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Each test's interview: its key, and the exercise whose reference solution it starts with.
INTERVIEWS = {
    "cancellation": "cancellation",
    "add-metadata": "add-metadata",
    "job-state": "job-state",
    "sync-to-streaming": "sync-to-streaming",
    "hostile-apps": "cancellation",
}

SETUP = """
from django.contrib.auth.models import Group, User
from accounts.roles import INTERVIEWERS, ensure_roles
from exercises import catalog
from interviews import services
from interviews.models import Exercise
ensure_roles()
u = User.objects.create_user('ivy', password='{password}')
u.groups.add(Group.objects.get(name=INTERVIEWERS))
for key, slug in {interviews!r}.items():
    spec = catalog.find(slug)
    files = {{p: d.decode() for p, d in spec.solution_files().items()}}
    interview, token = services.interview_create(
        exercise=Exercise.objects.get(slug=slug), candidate_name='Cara',
        candidate_email='cara@example.com', interviewers=[u], created_by=u, starter_files=files)
    print('INTERVIEW', key, interview.pk, token)
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


def start_server(tmp_path: Path, backend: str, interviews: dict[str, str]) -> Iterator[Server]:
    """`manage.py serve` on `backend` with an interview per entry of `interviews`."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(
        FAULTLINE_VAR_DIR=str(tmp_path / "var"),
        DEBUG="1",
        FAULTLINE_PREVIEW_PORT=str(free_port()),
        SANDBOX_BACKEND=backend,
        # Every test's session may still run when the next starts (they end when idle).
        FAULTLINE_LIVE_SESSIONS=str(len(interviews)),
    )
    manage(env, "migrate", "--noinput")
    manage(env, "sync_exercises")
    setup = SETUP.format(password=PASSWORD, interviews=interviews)
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", setup],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    made = [line.split()[1:] for line in out.splitlines() if line.startswith("INTERVIEW")]
    log = tmp_path / "server.log"
    try:
        with serving(env, log, attempts=300, stop_seconds=20) as base:
            port = base.rsplit(":", 1)[1]
            (pid,) = host_processes_with(f"serve\0--port\0{port}\0")
            yield Server(
                base,
                pid,
                {key: (int(pk), f"{base}/i/{token}") for key, pk, token in made},
            )
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, ARTIFACTS / f"server-{backend}.log")


@dataclass(frozen=True)
class Server:
    base: str
    pid: int  # the web process: it owns the live sessions
    interviews: dict[str, tuple[int, str]]  # key -> (id, the candidate's invite link)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_bwrap()
    yield from start_server(tmp_path_factory.mktemp("preview"), "bwrap", INTERVIEWS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)
    with chromium() as launched:
        yield launched


def wait_running(page: Any) -> None:
    """Until the page's preview runs the app, through its retries if a loaded machine
    made a start miss its health timeout (as tests/preview/test_live_preview.py waits)."""
    from playwright.sync_api import expect

    state = page.locator("[data-testid=preview-state]")
    settled = re.compile(r"^(running|gave-up)$")
    expect(state).to_have_attribute("data-state", settled, timeout=300_000)
    expect(state).to_have_attribute("data-state", "running")


def open_interview(browser: Any, server: Server, key: str) -> tuple[Any, Any]:
    """The interviewer's console and the candidate's room of interview `key`, started,
    each with its preview open."""
    from playwright.sync_api import expect

    interview, link = server.interviews[key]
    size = {"width": 1440, "height": 900}
    staff = browser.new_context(viewport=size, base_url=server.base).new_page()
    staff.goto("/")
    staff.fill("input[name=username]", "ivy")
    staff.fill("input[name=password]", PASSWORD)
    staff.click("button[type=submit]")
    staff.goto(f"/interviews/{interview}/")
    cand = browser.new_context(viewport=size).new_page()
    cand.goto(link)
    cand.click("[data-testid=join]")
    staff.click("#start")
    expect(cand.locator("[data-testid=lobby]")).to_be_hidden()
    cand.click("[data-testid=preview-toggle]")
    expect(cand.locator("#preview-drawer")).to_be_visible()
    staff.click("[data-testid=preview-toggle]")
    wait_running(cand)
    return staff, cand


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


def test_the_live_preview_in_a_browser(browser: Any, server: Server) -> None:
    from playwright.sync_api import expect

    base, (interview, _) = server.base, server.interviews["cancellation"]
    staff, cand = open_interview(browser, server, "cancellation")

    # Both sides see the preview: the exercise's own page, served by the candidate's app.
    app = cand.frame_locator("[data-testid=preview-frame]")
    expect(app.locator("h1")).to_have_text("Research assistant")
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
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(ARTIFACTS / "candidate-preview.png", SCREENSHOTS / "candidate-preview.png")
        shutil.copy(ARTIFACTS / "console-preview.png", SCREENSHOTS / "interviewer-preview.png")


# Records how an answer grows in the page: its text's length at each DOM update.
WATCH_ANSWER = """() => {
  window.__lengths = [];
  const target = document.getElementById("answer");
  target.replaceChildren();  // the last answer's, so that only the next one shows
  new MutationObserver(() => window.__lengths.push(target.textContent.length))
    .observe(target, {childList: true, subtree: true, characterData: true});
}"""


def app_frame(page: Any) -> Any:
    """The preview iframe's frame, once it has loaded the app."""
    handle = page.locator("[data-testid=preview-frame]").element_handle()
    frame = handle.content_frame()
    assert frame is not None
    return frame


@pytest.mark.parametrize("key", ["add-metadata", "job-state", "sync-to-streaming"])
def test_each_exercise_works_through_the_preview(browser: Any, server: Server, key: str) -> None:
    exercise_through_the_preview(browser, server, key, key)


def exercise_through_the_preview(
    browser: Any, server: Server, key: str, slug: str
) -> tuple[Any, Any]:
    """Interview `key` (of exercise `slug`, its reference solution) in both sides'
    preview; returns the interviewer's and the candidate's pages."""
    from playwright.sync_api import expect

    staff, cand = open_interview(browser, server, key)
    app = cand.frame_locator("[data-testid=preview-frame]")
    # The exercise's own page, with what it loads from its own API.
    expect(app.locator("h1")).to_have_text("Research assistant")
    if slug == "job-state":
        expect(app.locator("#paper-list input[name=paper]").first).to_be_visible()

    # One question through the provider: answered, and in the interviewer's request log.
    # A streamed answer arrives chunk by chunk through the proxy: it grows in the page
    # while it streams (a buffered relay would show it all at once, at the end).
    frame = app_frame(cand)
    frame.evaluate(WATCH_ANSWER)
    app.locator("#question").fill("Does retrieval reduce hallucination?")
    app.locator("#ask-button").click()
    expect(app.locator("#answer")).to_contain_text("Based on the papers")
    expect(app.locator("#answer .sources")).to_be_visible()
    if slug == "sync-to-streaming":
        grown = sorted({n for n in frame.evaluate("window.__lengths") if n > 0})
        assert len(grown) >= 3, f"the answer did not grow chunk by chunk: {grown}"
    staff.click("[data-preview-tab=requests]")
    log = staff.locator("[data-testid=request-log]")
    expect(log).to_contain_text("/v1/chat/completions")
    expect(log).to_contain_text("healthy: answers")
    expect(log).to_contain_text("streamed" if slug == "sync-to-streaming" else "whole")

    # A fault switched live: the next question fails in the app's own words, and the
    # log says which fault it met (an outage; for the stream, an error mid-answer).
    scenario, fault = (
        ("error-mid-stream", "an in-stream error after")
        if slug == "sync-to-streaming"
        else ("outage", "outage: HTTP 503")
    )
    staff.click("[data-preview-tab=faults]")
    staff.click(f"[data-testid=switchboard] [data-scenario={scenario}]")
    expect(staff.locator("[data-testid=switchboard] .scenario.active")).to_have_attribute(
        "data-scenario", scenario
    )
    app.locator("#ask-button").click()
    expect(app.locator("#answer .error")).to_be_visible()
    staff.click("[data-preview-tab=requests]")
    expect(log).to_contain_text(fault)
    return staff, cand


def live_runs(server: Server) -> set[str]:
    """The run ids of the live sessions the web process holds (its cgroups and scratch
    are named <pid>-<run>-<party>; of its sandboxes, only live sessions have a sidecar)."""
    names = [Path(p).name.split("-") for p in owned_leftovers("bwrap", server.pid)]
    return {parts[1] for parts in names if parts[-1] == "sidecar"}


# The cancellation exercise's app/main.py made hostile, each with what the candidate
# is told (in the state line, with the last lines of the app's log).
MAIN = (REPO / "exercises/cancellation/solution/app/main.py").read_text()
FUTURE = "from __future__ import annotations\n"
HEAD, REST = MAIN.split(FUTURE, 1)
HEAD += FUTURE
HOSTILE_APPS = [
    (
        "a crash at start",
        HEAD + 'raise RuntimeError("crash-at-start: no settings")\n' + REST,
        ["exited with status 1 before it answered on /healthz", "crash-at-start: no settings"],
    ),
    (
        "an infinite loop at import",
        HEAD + 'print("loading the models", flush=True)\nwhile True:\n    pass\n' + REST,
        ["did not answer on /healthz within 20 s", "loading the models"],
    ),
    (
        "the wrong port",
        HEAD + "import http.server\n"
        'print("listening on 127.0.0.1:8001", flush=True)\n'
        'http.server.HTTPServer(("127.0.0.1", 8001), http.server.BaseHTTPRequestHandler)'
        ".serve_forever()\n" + REST,
        ["did not answer on /healthz within 20 s", "listening on 127.0.0.1:8001"],
    ),
    (
        "a fork bomb",
        HEAD + "import os\n"
        'print("forking", flush=True)\n'
        "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n" + REST,
        ["did not answer on /healthz within 20 s", "forking"],
    ),
]


def test_hostile_apps_are_contained_and_explained_and_leave_nothing(
    browser: Any, server: Server
) -> None:
    from playwright.sync_api import expect

    before = live_runs(server)
    staff, cand = open_interview(browser, server, "hostile-apps")
    app = cand.frame_locator("[data-testid=preview-frame]")
    expect(app.locator("h1")).to_have_text("Research assistant")
    ours = live_runs(server) - before
    assert ours, "no sandbox of this interview's live session was found"
    state = cand.locator("[data-testid=preview-state]")
    logs = cand.locator("[data-testid=preview-logs]")

    for what, main, told in HOSTILE_APPS:
        save_file(cand, "app/main.py", main)
        for words in told:
            expect(state, what).to_contain_text(words)
        # The Logs tab has the app's own output and the platform's note of why.
        cand.click("[data-preview-tab=logs]")
        expect(logs.locator("li", has_text=told[1]).last, what).to_be_visible()
        expect(logs.locator("li.faultline", has_text=f"the app {told[0]}").last).to_be_visible()
        if what == "a crash at start":
            # Retried with backoff: 1 s, then 2 s.
            expect(logs).to_contain_text("retrying in 1 s (attempt 2)")
            expect(logs).to_contain_text("retrying in 2 s (attempt 3)")
        cand.click("[data-preview-tab=app]")
        # The interviewer's pane says the same.
        expect(staff.locator("[data-testid=preview-state]")).to_contain_text(told[1])
        ours |= live_runs(server) - before
    shot(cand, "hostile-fork-bomb")

    # The room still works: the candidate saves the fix and the preview serves it.
    save_file(cand, "app/main.py", MAIN)
    expect(state).not_to_contain_text("forking")
    wait_running(cand)
    cand.click("#preview-reload")
    expect(app.locator("h1")).to_have_text("Research assistant")

    # The interview ends: nothing of its live session is left (processes, cgroups,
    # scratch), by the housekeeping that notices the interview is over.
    staff.once("dialog", lambda dialog: dialog.accept())
    staff.click("#end")
    expect(staff.locator("[data-testid=preview-state]")).to_contain_text("not-live")
    bwrap = sandbox.get_backend("bwrap")
    for run_id in ours:
        for _ in range(600):
            left = bwrap.leftovers(run_id)
            if not left:
                break
            time.sleep(0.1)
        assert left == [], f"run {run_id} left {left}"
