"""Edit → interviewer latency with many interviews at once, over real websockets.

Starts the real server (`manage.py serve`, embedded mode) on a free port with a
throw-away var dir, schedules and starts N interviews, then runs N simulated
candidates typing (one save every --interval seconds each, as the room's
client does while someone types) and N interviewers watching. Prints the
latency from a candidate sending an edit to its interviewer receiving the text.

    .venv/bin/python benchmarks/ws_latency_bench.py --interviews 50 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx
import websockets

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-1"
SETUP = """
import json
from django.contrib.auth.models import Group, User
from accounts.roles import INTERVIEWERS, ensure_roles
from interviews import services
from interviews.models import Exercise
ensure_roles()
ivy = User.objects.create_user("ivy", password="{password}")
ivy.groups.add(Group.objects.get(name=INTERVIEWERS))
exercise, _ = Exercise.objects.get_or_create(
    slug="bench", defaults=dict(title="Bench", version_hash="v1", manifest={{"tasks": []}})
)
out = []
for i in range({n}):
    interview, token = services.interview_create(
        exercise=exercise, candidate_name=f"c{{i}}", candidate_email=f"c{{i}}@example.com",
        interviewers=[ivy], created_by=ivy, starter_files={{"app/main.py": "x = 0\\n" * 200}},
    )
    services.interview_start(interview=interview, actor="ivy")
    out.append([interview.pk, token])
print("BENCH" + json.dumps(out))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def cookie_header(client: httpx.Client) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def staff_cookie(base: str) -> str:
    with httpx.Client(base_url=base) as client:
        page = client.get("/accounts/login/")
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert match, "no CSRF token on the login page"
        client.post(
            "/accounts/login/",
            data={"username": "ivy", "password": PASSWORD, "csrfmiddlewaretoken": match[1]},
            headers={"Referer": f"{base}/accounts/login/"},
        )
        return cookie_header(client)


def candidate_cookie(base: str, token: str) -> str:
    with httpx.Client(base_url=base) as client:
        page = client.get(f"/i/{token}")
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert match, "no CSRF token on the invite page"
        client.post(
            f"/i/{token}",
            data={"csrfmiddlewaretoken": match[1]},
            headers={"Referer": f"{base}/i/{token}"},
        )
        return cookie_header(client)


async def interviewer(
    ws_base: str, origin: str, cookie: str, interview_id: int, latencies: list[float], stop: float
) -> None:
    async with websockets.connect(
        f"{ws_base}/ws/console/{interview_id}/",
        additional_headers={"Cookie": cookie},
        origin=origin,  # type: ignore[arg-type]
        max_size=2**22,
    ) as ws:
        while time.perf_counter() < stop + 2:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=stop + 2 - time.perf_counter())
            except TimeoutError:
                return
            message = json.loads(raw)
            event = message.get("event") or {}
            if event.get("kind") == "file" and isinstance(event.get("sent_at"), float):
                latencies.append((time.perf_counter() - event["sent_at"]) * 1000)


async def candidate(
    ws_base: str, origin: str, cookie: str, interval: float, stop: float, errors: list[str]
) -> int:
    sent = 0
    async with websockets.connect(
        f"{ws_base}/ws/room/",
        additional_headers={"Cookie": cookie},
        origin=origin,  # type: ignore[arg-type]
        max_size=2**22,
    ) as ws:
        state = json.loads(await ws.recv())
        main = next(f for f in state["files"] if f["path"] == "app/main.py")
        version, text = main["version"], main["content"]
        await asyncio.sleep(random.random() * interval)
        while time.perf_counter() < stop:
            tick = time.perf_counter()
            text += random.choice("abcdefgh \n")
            sent += 1
            await ws.send(
                json.dumps(
                    {
                        "type": "edit",
                        "path": "app/main.py",
                        "base_version": version,
                        "content": text,
                        "seq": sent,
                        "sent_at": time.perf_counter(),
                    }
                )
            )
            while True:
                reply = json.loads(await ws.recv())
                if reply.get("seq") == sent:
                    break
            if reply["type"] != "saved":
                errors.append(str(reply))
                return sent
            version = reply["version"]
            await asyncio.sleep(max(0.0, interval - (time.perf_counter() - tick)))
    return sent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def drive(base: str, interviews: list[list], interval: float, seconds: float) -> None:
    ws_base = base.replace("http://", "ws://")
    staff = staff_cookie(base)
    cookies = [candidate_cookie(base, token) for _, token in interviews]
    latencies: list[float] = []
    errors: list[str] = []
    stop = time.perf_counter() + seconds + 1
    watchers = [
        asyncio.create_task(interviewer(ws_base, base, staff, pk, latencies, stop))
        for pk, _ in interviews
    ]
    await asyncio.sleep(1)  # every interviewer is connected before typing starts
    typists = [candidate(ws_base, base, c, interval, stop, errors) for c in cookies]
    sent = sum(await asyncio.gather(*typists))
    await asyncio.gather(*watchers)
    print(f"interviews: {len(interviews)}  edits sent: {sent}  received: {len(latencies)}")
    print(f"rate: {sent / seconds:.0f} edits/s (one every {interval * 1000:.0f} ms per candidate)")
    if errors:
        print(f"errors: {len(errors)} (first: {errors[0]})")
    if latencies:
        print(
            "edit → interviewer latency ms: "
            f"p50 {percentile(latencies, 50):.1f}  p95 {percentile(latencies, 95):.1f}  "
            f"p99 {percentile(latencies, 99):.1f}  max {max(latencies):.1f}  "
            f"mean {statistics.mean(latencies):.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interviews", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between saves")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="faultline-ws-bench-") as tmp:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
        }
        env.update(FAULTLINE_VAR_DIR=tmp, DEBUG="0", LOG_LEVEL="WARNING")
        manage(env, "migrate", "--noinput")
        out = manage(env, "shell", "-c", SETUP.format(password=PASSWORD, n=args.interviews))
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
            for _ in range(150):
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                        break
                except OSError:
                    time.sleep(0.1)
            asyncio.run(drive(base, interviews, args.interval, args.seconds))
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
