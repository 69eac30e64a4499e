"""Reading a party's output with a cap, without ever blocking the party.

Past the cap the reader keeps draining and discarding, so a flood neither fills
the host's memory nor stalls the writer on a full pipe; the result only says
that it was truncated.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

LineCallback = Callable[[str], None]
# A single "line" longer than this is handed to on_line in pieces.
MAX_LINE_BYTES = 64 * 1024


class CappedOutput:
    """Accumulates at most `cap` bytes; optionally reports complete lines as they arrive."""

    def __init__(self, cap: int, on_line: LineCallback | None = None) -> None:
        self.cap = cap
        self.on_line = on_line
        self._chunks: list[bytes] = []
        self._kept = 0
        self.truncated = False
        self._partial = b""
        self._lock = threading.Lock()

    def feed(self, data: bytes) -> None:
        if not data:
            return
        with self._lock:
            room = self.cap - self._kept
            if room > 0:
                keep = data[:room]
                self._chunks.append(keep)
                self._kept += len(keep)
            if len(data) > max(room, 0):
                self.truncated = True
        if self.on_line is not None:
            self._lines(data)

    def _lines(self, data: bytes) -> None:
        buf = self._partial + data
        *complete, rest = buf.split(b"\n")
        for line in complete:
            self._emit(line)
        while len(rest) > MAX_LINE_BYTES:
            self._emit(rest[:MAX_LINE_BYTES])
            rest = rest[MAX_LINE_BYTES:]
        self._partial = rest

    def _emit(self, line: bytes) -> None:
        assert self.on_line is not None
        try:
            self.on_line(line.decode("utf-8", errors="replace"))
        except Exception:  # noqa: S110 - a progress callback must never break a run
            pass

    def finish(self) -> None:
        if self.on_line is not None and self._partial:
            self._emit(self._partial)
            self._partial = b""

    def text(self) -> str:
        with self._lock:
            return b"".join(self._chunks).decode("utf-8", errors="replace")


def drain_fd(fd: int, out: CappedOutput) -> threading.Thread:
    """Start a daemon thread that reads `fd` to EOF into `out` and then closes it."""
    import os

    def pump() -> None:
        try:
            while True:
                try:
                    data = os.read(fd, 65536)
                except InterruptedError:
                    continue
                except OSError:
                    break
                if not data:
                    break
                out.feed(data)
        finally:
            out.finish()
            try:
                os.close(fd)
            except OSError:
                pass

    thread = threading.Thread(target=pump, name="faultline-sandbox-output", daemon=True)
    thread.start()
    return thread


def drain_frames(
    frames: Iterator[tuple[bytes | None, bytes | None]],
    stdout: CappedOutput,
    stderr: CappedOutput,
) -> threading.Thread:
    """Start a daemon thread feeding demultiplexed (stdout, stderr) frames into the captures."""

    def pump() -> None:
        try:
            for out, err in frames:
                if out:
                    stdout.feed(out)
                if err:
                    stderr.feed(err)
        except Exception:  # noqa: S110 - the stream ends when the container is removed
            pass
        finally:
            stdout.finish()
            stderr.finish()

    thread = threading.Thread(target=pump, name="faultline-sandbox-frames", daemon=True)
    thread.start()
    return thread
