"""Live preview speed and memory: prints medians and p95s, asserts nothing.

    .venv/bin/python benchmarks/live_bench.py [--runs 20] [--backends bwrap,docker]

For each backend, a live session of the cancellation exercise's reference solution:
  save -> preview   restart with a changed index.html until GET / serves it (a lone
                    save restarts at once; one within a burst of saves waits the
                    platform's 0.3 s debounce after the last: printed too)
  small request     GET /api/papers through the bridge's unix socket ("direct": the
                    closest the host gets to the app) and through the preview proxy
                    (platform/preview/proxy.relay under uvicorn on a TCP port)
  first chunk       POST /api/answers (server-sent events, healthy provider): time to
                    the first body bytes, bridge vs proxy
  scenario switch   POST /scenario on the switchboard socket; the next provider call
                    meets the new scenario by construction (one process, one lock)
  idle memory       the memory cgroups / containers of both parties, at rest
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "platform")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faultline.settings")
os.environ.setdefault("FAULTLINE_VAR_DIR", tempfile.mkdtemp(prefix="faultline-live-bench-"))

import django  # noqa: E402

django.setup()
import logging  # noqa: E402

logging.getLogger("httpx").setLevel(logging.WARNING)

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from preview.manager import DEBOUNCE_SECONDS  # noqa: E402
from preview.proxy import relay  # noqa: E402

import sandbox  # noqa: E402
import sandbox.live as live  # noqa: E402
from exercises import catalog  # noqa: E402
from exercises.live import CONTROL_SOCKET, Switchboard, live_spec  # noqa: E402

QUESTION = b'{"question": "what reduces hallucination?"}'


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def show(name: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(f"  {name:38} p50 {statistics.median(ms):8.1f} ms   p95 {pct(ms, 95):8.1f} ms")


def raw_first_chunk(connect: Any, host: bytes) -> float:
    """Seconds from sending POST /api/answers to the first bytes of the body."""
    sock = connect()
    try:
        started = time.perf_counter()
        sock.sendall(
            b"POST /api/answers HTTP/1.1\r\nHost: " + host + b"\r\nContent-Type: application/json"
            b"\r\nContent-Length: " + str(len(QUESTION)).encode() + b"\r\n\r\n" + QUESTION
        )
        seen = b""
        while b"\r\n\r\n" not in seen:
            seen += sock.recv(65536)
        if seen.split(b"\r\n\r\n", 1)[1] == b"":
            sock.recv(65536)
        return time.perf_counter() - started
    finally:
        sock.close()


class Proxy:
    """preview.proxy.relay for one socket, under uvicorn on a local TCP port."""

    def __init__(self, socket_path: str) -> None:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                await relay(socket_path, scope, receive, send)

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        threading.Thread(target=self.server.run, daemon=True).start()
        while not self.server.started:
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True


def memory_mb(backend: str, session: live.LiveSession) -> float:
    if backend == "bwrap":
        from sandbox import cgroups

        total = 0
        for group in cgroups.list_groups(session.run_id):
            for name in ("memory.usage_in_bytes", "memory.current"):
                path = Path(group) / name
                if path.exists():
                    total += int(path.read_text())
        return total / 2**20
    import docker

    client = docker.from_env()
    found = client.api.containers(filters={"label": f"faultline.run={session.run_id}"})
    total = 0
    for c in found:
        stats = client.api.stats(c["Id"], stream=False)
        total += stats.get("memory_stats", {}).get("usage", 0)
    return total / 2**20


def bench(backend: str, runs: int) -> None:
    exercise = catalog.find("cancellation")
    files = exercise.solution_files()
    print(f"\n{backend}: {sandbox.get_backend(backend).status().detail}")
    started = time.perf_counter()
    session = live.start(live_spec(exercise, files), backend)
    status = session.wait_settled(timeout=120)
    print(f"  first start: {status.state} after {time.perf_counter() - started:.2f} s")
    board = Switchboard(session.socket(CONTROL_SOCKET))
    bridge = httpx.Client(
        base_url="http://app", transport=httpx.HTTPTransport(uds=str(session.app_socket))
    )
    proxy = Proxy(str(session.app_socket))
    proxied = httpx.Client(base_url=f"http://127.0.0.1:{proxy.port}")
    try:
        time.sleep(1.0)
        idle = memory_mb(backend, session)
        index = files["static/index.html"]
        saves = []
        for i in range(runs):
            marker = f"bench-{backend}-{i}".encode()
            changed = {**files, "static/index.html": index.replace(b"</body>", marker + b"</body>")}
            # Saves a person makes are seconds apart (the Docker backend makes the next
            # start's container meanwhile).
            time.sleep(1.0)
            t0 = time.perf_counter()
            session.restart(changed)
            while True:
                try:
                    if marker in bridge.get("/").content:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.005)
            saves.append(time.perf_counter() - t0)
        show("save -> preview serves it (sandbox)", saves)
        # The platform restarts on a lone save at once; within a burst of saves, once
        # more DEBOUNCE_SECONDS after the last of them.
        show("  a save within a burst (+ debounce)", [s + DEBOUNCE_SECONDS for s in saves])

        for client in (bridge, proxied):  # warm both paths
            client.get("/api/papers")
        direct, via = [], []
        for _ in range(runs * 5):
            for client, into in ((bridge, direct), (proxied, via)):
                t0 = time.perf_counter()
                client.get("/api/papers").raise_for_status()
                into.append(time.perf_counter() - t0)
        show("GET /api/papers via the bridge", direct)
        show("GET /api/papers via the preview proxy", via)
        print(
            "  proxy overhead (p50)                   "
            f"{(statistics.median(via) - statistics.median(direct)) * 1000:8.1f} ms"
        )

        def unix() -> socket.socket:
            s = socket.socket(socket.AF_UNIX)
            s.connect(str(session.app_socket))
            return s

        def tcp() -> socket.socket:
            return socket.create_connection(("127.0.0.1", proxy.port))

        first_direct = [raw_first_chunk(unix, b"app") for _ in range(runs)]
        first_proxy = [raw_first_chunk(tcp, b"app") for _ in range(runs)]
        show("first streamed chunk via the bridge", first_direct)
        show("first streamed chunk via the proxy", first_proxy)
        print(
            "  first chunk, proxy - bridge (p50)      "
            f"{(statistics.median(first_proxy) - statistics.median(first_direct)) * 1000:8.1f} ms"
        )

        switches = []
        for i in range(runs):
            t0 = time.perf_counter()
            board.switch("slow" if i % 2 == 0 else "healthy")
            switches.append(time.perf_counter() - t0)
        show("scenario switch (control round trip)", switches)
        print(f"  idle memory, both parties              {idle:8.1f} MB")
        if idle:
            print(f"  sessions in 24 GB by memory alone      {int(24 * 1024 / idle):8d}")
    finally:
        proxy.stop()
        board.close()
        session.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--backends", default="bwrap,docker")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        if not sandbox.get_backend(backend).status().available:
            print(f"\n{backend}: unavailable, skipped")
            continue
        bench(backend, args.runs)
    asyncio.set_event_loop(None)


if __name__ == "__main__":
    main()
