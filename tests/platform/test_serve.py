"""`manage.py serve --demo` as `make run` uses it: loads the demo, grades it, serves /healthz,
prints the way in, stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.live_server import free_port
from tests.requirements import require_bwrap

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # the demo gradings run in the sandbox first
def test_serve_answers_healthz_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    require_bwrap()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY"}
    }
    env.update({"FAULTLINE_VAR_DIR": str(tmp_path), "DEBUG": "1"})
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = None
        deadline = time.monotonic() + 240  # the demo gradings run first
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
                body = response.json()
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert body is not None, "the server never answered"
        assert response.status_code == 200, body
        assert body["mode"] == "embedded"
        assert all(check["ok"] for check in body["checks"].values())
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert f"http://localhost:{port}/" in output
    assert "password: faultline-demo" in output
    # The demo's gradings ran in the sandbox and reached a scorecard.
    assert "graded demo interviews: ['Riley Reference: graded', 'Morgan Mutant: graded']" in output
    assert f"http://localhost:{port}/i/" in output, "the candidate invite link is printed"
