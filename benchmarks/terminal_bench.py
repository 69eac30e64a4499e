"""Keystroke -> echo in the terminal, with many terminals at once, over real websockets.

Starts the real server (`manage.py serve`, embedded mode, FAULTLINE_SANDBOX_BACKEND or
bwrap) with a throw-away var dir, starts N interviews of the cancellation exercise and
opens each one's terminal (a shell in its live session), then has every candidate type
a key every --interval seconds. Prints the time from sending a key (term_in) to the
candidate's socket receiving its echo (the next terminal_output event), p50 and p95.

    .venv/bin/python benchmarks/terminal_bench.py --terminals 20 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets
from ws_latency_bench import candidate_cookie, free_port, manage, percentile

REPO = Path(__file__).resolve().parents[1]
SETUP = """
import json
from django.contrib.auth.models import User
from exercises import catalog
from interviews import services
from interviews.models import Exercise
ivy = User.objects.create_user("ivy", password="bench-password-1")
spec = catalog.find("cancellation")
files = {{p: d.decode() for p, d in spec.solution_files().items()}}
out = []
for i in range({n}):
    interview, token = services.interview_create(
        exercise=Exercise.objects.get(slug="cancellation"), candidate_name=f"c{{i}}",
        candidate_email=f"c{{i}}@example.com", interviewers=[ivy], created_by=ivy,
        starter_files=files,
    )
    services.interview_start(interview=interview, actor="ivy")
    out.append([interview.pk, token])
print("BENCH" + json.dumps(out))
"""


async def typist(
    ws_base: str, origin: str, cookie: str, interval: float, seconds: float,
    latencies: list[float], errors: list[str],
) -> None:  # fmt: skip
    async with websockets.connect(
        f"{ws_base}/ws/room/",
        additional_headers={"Cookie": cookie},
        origin=origin,  # type: ignore[arg-type]
        max_size=2**22,
    ) as ws:

        async def reply(seq: int) -> dict:
            while True:
                message = json.loads(await ws.recv())
                if message.get("seq") == seq:
                    return message

        await ws.send(json.dumps({"type": "term_open", "seq": 1}))
        opened = await reply(1)
        if opened["type"] != "term_state":
            errors.append(str(opened))
            return
        await asyncio.sleep(2)  # the shell's first prompt is printed
        stop = time.perf_counter() + seconds
        typed = 0
        while time.perf_counter() < stop:
            tick = time.perf_counter()
            key = "\x15" if typed % 60 == 59 else "abcdefgh"[typed % 8]  # Ctrl-U now and then
            await ws.send(json.dumps({"type": "term_in", "data": key}))
            typed += 1
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
                event = message.get("event") or {}
                # Its echo (a Ctrl-U's is the line's erasure, whatever it prints).
                if event.get("kind") == "terminal_output" and (
                    key == "\x15" or key in event["data"]
                ):
                    break
            if key != "\x15":
                latencies.append((time.perf_counter() - tick) * 1000)
            await asyncio.sleep(max(0.0, interval - (time.perf_counter() - tick)))


async def drive(base: str, interviews: list[list], interval: float, seconds: float) -> None:
    ws_base = base.replace("http://", "ws://")
    cookies = [candidate_cookie(base, token) for _, token in interviews]
    latencies: list[float] = []
    errors: list[str] = []
    await asyncio.gather(
        *(typist(ws_base, base, c, interval, seconds, latencies, errors) for c in cookies)
    )
    print(f"terminals: {len(interviews)}  keys echoed: {len(latencies)}"
          f"  (one every {interval * 1000:.0f} ms per terminal)")  # fmt: skip
    if errors:
        print(f"errors: {len(errors)} (first: {errors[0][:200]})")
    if latencies:
        print(
            "keystroke -> echo ms: "
            f"p50 {percentile(latencies, 50):.1f}  p95 {percentile(latencies, 95):.1f}  "
            f"p99 {percentile(latencies, 99):.1f}  max {max(latencies):.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between keys")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="faultline-term-bench-") as tmp:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
        }
        env.update(
            FAULTLINE_VAR_DIR=tmp, DEBUG="0", LOG_LEVEL="WARNING",
            FAULTLINE_LIVE_SESSIONS=str(args.terminals), FAULTLINE_PREVIEW_PORT=str(free_port()),
        )  # fmt: skip
        manage(env, "migrate", "--noinput")
        manage(env, "sync_exercises")
        out = manage(env, "shell", "-c", SETUP.format(n=args.terminals))
        interviews = json.loads(out.split("BENCH", 1)[1])
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                        break
                except OSError:
                    time.sleep(0.1)
            asyncio.run(drive(base, interviews, args.interval, args.seconds))
        finally:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
