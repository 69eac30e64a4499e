"""The bridge of a live session: unix sockets in a host-visible directory, forwarded to
ports on the sandbox's private loopback; then the sidecar's own command.

    python3 -I -S -c SOURCE DIR NAME=PORT [NAME=PORT ...] -- COMMAND [ARG ...]

It runs as the first process of the sidecar party (the fake provider's), which alone
has DIR (`/live`) bound from the host. For each NAME=PORT it listens on DIR/NAME and
relays every connection, byte for byte as it arrives, to 127.0.0.1:PORT. So the host
reaches the candidate's app without the sandbox having any network but its loopback,
and the app, which cannot see DIR, cannot reach what the sidecar serves there. When
either side of a relayed connection closes, both are closed: a preview tab that is
closed mid-stream closes the app's request (the cancellation exercise needs that).
It exits with COMMAND's status when COMMAND ends.

Only the standard library, and no import from `sandbox`: it runs inside the
sandbox, whose Python may be older than the host's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys

BUFFER = 65536


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(BUFFER)
            if not data:
                return
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        return


async def _relay(port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        writer.close()  # nothing listens there (yet): the host sees the connection closed
        return
    pumps = [
        asyncio.ensure_future(_pump(reader, up_writer)),
        asyncio.ensure_future(_pump(up_reader, writer)),
    ]
    # Whichever side ends first ends both: an HTTP client never half-closes, so an
    # end from the host is a hang-up, and the app must see it as one.
    await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
    for pump in pumps:
        pump.cancel()
    for end in (up_writer, writer):
        end.close()


async def _serve(directory: str, forwards: list[tuple[str, int]], command: list[str]) -> int:
    servers = []
    for name, port in forwards:
        path = os.path.join(directory, name)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

        async def handle(
            r: asyncio.StreamReader, w: asyncio.StreamWriter, port: int = port
        ) -> None:
            await _relay(port, r, w)

        servers.append(await asyncio.start_unix_server(handle, path=path))
    # Started once, before the loop serves anything: blocking here costs no one.
    child = subprocess.Popen(command)  # noqa: ASYNC220
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, child.send_signal, signum)
    status = await loop.run_in_executor(None, child.wait)
    for server in servers:
        server.close()
    return status


def main(argv: list[str]) -> int:
    if "--" not in argv or len(argv) < 3:
        print("usage: bridge DIR NAME=PORT... -- COMMAND...", file=sys.stderr)
        return 125
    split = argv.index("--")
    directory, specs, command = argv[0], argv[1:split], argv[split + 1 :]
    forwards = []
    for spec in specs:
        name, _, port = spec.partition("=")
        forwards.append((name, int(port)))
    status = asyncio.run(_serve(directory, forwards, command))
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
