"""An exercise's live session: the candidate's app running beside the fake provider in
live mode, for the interview's preview and the interviewer's fault switchboard.

    session = sandbox.live.start(live_spec(exercise, files))
    board = Switchboard(session.socket(CONTROL_SOCKET))
    board.switch("slow"); board.scenarios(); board.follow(after=0)

The app party is the hidden suite's (same command, env, port and limits); the sidecar
runs `faultkit.live` (exercises/faultkit/live.py), whose control API is served only on
a unix socket in the session's bridge directory, never on the loopback the app shares.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from .catalog import Exercise
from .runner import APP_PORT, PROVIDER_PORT, _candidate, kit_files

if TYPE_CHECKING:
    from sandbox.live import LiveSpec

CONTROL_SOCKET = "control.sock"
# A live session outlives the interview's time box by this much at most.
SESSION_MARGIN_SECONDS = 30 * 60


def live_spec(exercise: Exercise, files: Mapping[str, bytes], *, seed: int = 0) -> LiveSpec:
    from sandbox.live import LIVE_DIR, LiveSpec
    from sandbox.spec import Limits, Party

    lifetime = exercise.time_box_minutes * 60 + SESSION_MARGIN_SECONDS
    scenarios = json.dumps([s.to_dict() for s in exercise.scenarios]).encode()
    return LiveSpec(
        app=Party(
            command=exercise.app.command(APP_PORT),
            files=_candidate(files),
            env={**exercise.app.env, "LLM_BASE_URL": f"http://127.0.0.1:{PROVIDER_PORT}/v1"},
        ),
        sidecar=Party(
            command=[
                "python3",
                "-m",
                "faultkit.live",
                "--port",
                str(PROVIDER_PORT),
                "--control",
                f"{LIVE_DIR}/{CONTROL_SOCKET}",
                "--scenarios",
                "scenarios.json",
                "--seed",
                str(seed),
            ],
            files={**kit_files(), "scenarios.json": scenarios},
        ),
        app_port=APP_PORT,
        health=exercise.app.health,
        start_timeout=exercise.app.start_timeout_seconds,
        # Grading's memory, pids and disk; the session's whole life as its wall limit,
        # and CPU seconds to match (the CPU share still caps how fast it may spend them).
        limits=Limits(wall_seconds=lifetime, cpu_seconds=lifetime, memory_mb=512, pids=128),
        sidecar_sockets=(CONTROL_SOCKET,),
    )


class Switchboard:
    """The fake provider's control API of one live session, over its unix socket."""

    def __init__(self, socket_path: Path | str, timeout: float = 10.0) -> None:
        self._client = httpx.Client(
            base_url="http://switchboard",
            transport=httpx.HTTPTransport(uds=str(socket_path)),
            timeout=timeout,
        )

    def state(self) -> dict[str, Any]:
        """{"scenario", "switched_at", "scenarios": [{"name", "description", "builtin"}]}"""
        return self._get("/scenario")

    def switch(self, name: str) -> dict[str, Any]:
        response = self._client.post("/scenario", json={"name": name})
        if response.status_code == 400:
            raise ValueError(response.json().get("error", "refused"))
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def events(self, after: int = 0) -> list[dict[str, Any]]:
        """Request events after `after` (each {"seq", "request": {...}})."""
        events: list[dict[str, Any]] = self._get(f"/requests?after={after}")["events"]
        return events

    def follow(self, after: int = 0) -> Iterator[dict[str, Any]]:
        """Request events as they happen, until the caller stops iterating."""
        with (
            httpx.Client(
                base_url="http://switchboard",
                transport=self._client._transport,
                timeout=httpx.Timeout(10.0, read=None),
            ) as client,
            client.stream("GET", f"/events?after={after}") as stream,
        ):
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    yield json.loads(line[len("data: ") :])

    def _get(self, path: str) -> dict[str, Any]:
        response = self._client.get(path)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def close(self) -> None:
        self._client.close()
