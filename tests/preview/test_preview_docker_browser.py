"""The live preview on the Docker backend in a real Chromium: the same server as
test_preview_browser.py with SANDBOX_BACKEND=docker (the image faultline-sandbox:latest,
network "none": the session's own loopback, no bridge network). The streaming exercise
goes through it: its page, a call in the request log, an answer that grows chunk by
chunk, a fault switched live; and the session's containers are gone once it ends."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.preview.test_preview_browser import (
    Server,
    browser,
    exercise_through_the_preview,
    start_server,
)
from tests.requirements import require_docker

pytestmark = [pytest.mark.browser, pytest.mark.slow]

__all__ = ["browser"]  # the module-scoped Chromium fixture, used here too

SLUG = "sync-to-streaming"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_docker()
    yield from start_server(tmp_path_factory.mktemp("preview-docker"), "docker", {SLUG: SLUG})


def live_containers(server: Server, runs: set[str] | None = None) -> list[dict[str, Any]]:
    """The containers of the web process's live sessions (of `runs`, if given)."""
    import docker

    found = docker.from_env().api.containers(all=True, filters={"label": "faultline.run"})
    ours = []
    for c in found:
        labels = c.get("Labels") or {}
        if not labels.get("faultline.owner", "").endswith(f":{server.pid}"):
            continue
        if runs is None or labels["faultline.run"] in runs:
            ours.append(c)
    return ours


def test_the_preview_on_the_docker_backend(browser: Any, server: Server) -> None:
    from playwright.sync_api import expect

    staff, _ = exercise_through_the_preview(browser, server, SLUG, SLUG)
    # The sidecar (no network: a loopback of its own) and the app, which joins it.
    ours = live_containers(server)
    modes = {c["HostConfig"]["NetworkMode"].partition(":")[0] for c in ours}
    assert modes == {"container", "none"}, modes
    runs = {c["Labels"]["faultline.run"] for c in ours}
    staff.once("dialog", lambda dialog: dialog.accept())
    staff.click("#end")
    expect(staff.locator("[data-testid=preview-state]")).to_contain_text("not-live")
    # Its containers are removed once the interview is over (housekeeping every 5 s).
    for _ in range(600):
        left = live_containers(server, runs)
        if not left:
            break
        time.sleep(0.1)
    assert left == [], [c["Names"] for c in left]
