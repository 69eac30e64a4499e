"""The host's end of a live session's terminal (the shell party runs sandbox/live_shell.py).

    term = session.open_terminal(files, on_output=send, on_exit=gone)
    term.write(b"ls\\r")          # keystrokes (bounded)
    term.resize(40, 120)
    term.files()                 # [(path, size, sha1)] of the shell's workspace
    term.read("notes.txt"); term.put("app/main.py", data); term.delete("old.py")
    term.history()               # the last output, for a viewer who joins late
    term.close()

Everything that comes out of the socket is hostile (the shell shares the uid of the
process serving it): frames are bounded, answers are checked, and output is taken at
most OUTPUT_BYTES_PER_SECOND, so a flood is slowed down inside the sandbox (its
writers block on a full pty) rather than buffered here or sent on to browsers.
"""

from __future__ import annotations

import contextlib
import json
import queue
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from sandbox.spec import SandboxError

SOCKET = "term.sock"
TERM_DIR = "/term"
# Output taken from the shell, on average and in a burst.
OUTPUT_BYTES_PER_SECOND = 256 * 1024
OUTPUT_BURST = 64 * 1024
MAX_INPUT = 4096  # bytes of one write (a paste is split by the caller)
MAX_FRAME = (1 << 20) + 1024
HISTORY_BYTES = 64 * 1024
MAX_ROWS, MAX_COLS = 500, 1000
ANSWER_TIMEOUT = 10.0
CONNECT_TIMEOUT = 30.0
SEND_TIMEOUT = 5.0


class ShellHandle(Protocol):
    """A started shell party (a process tree or a container)."""

    exited: threading.Event
    socket_path: Path

    def exit_reason(self) -> str: ...

    def kill(self) -> None: ...


def shell_command(workdir: str) -> list[str]:
    source = (Path(__file__).resolve().parent / "live_shell.py").read_text()
    return ["python3", "-I", "-S", "-c", source, f"{TERM_DIR}/{SOCKET}", workdir]


def _frame(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack(">I", len(payload)) + payload


class _Bucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, time.monotonic()

    def wait(self, amount: float) -> None:
        """Take `amount`, sleeping until the bucket holds it."""
        while True:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= min(amount, self.burst):
                self.tokens -= amount
                return
            time.sleep((min(amount, self.burst) - self.tokens) / self.rate)


class Terminal:
    def __init__(
        self,
        handle: ShellHandle,
        on_output: Callable[[bytes], None] | None = None,
        on_exit: Callable[[str], None] | None = None,
    ) -> None:
        self.handle = handle
        self._on_output, self._on_exit = on_output, on_exit
        self._answers: queue.Queue[tuple[bytes, bytes] | None] = queue.Queue()
        self._ask = threading.Lock()
        self._send_lock = threading.Lock()
        self._history = bytearray()
        self._history_lock = threading.Lock()
        self._bucket = _Bucket(OUTPUT_BYTES_PER_SECOND, OUTPUT_BURST)
        self.exited = threading.Event()
        self.reason = ""
        self.bytes_out = 0
        self._sock = self._connect()
        self._thread = threading.Thread(target=self._read, name="faultline-term", daemon=True)
        self._thread.start()

    def set_listeners(
        self,
        on_output: Callable[[bytes], None] | None,
        on_exit: Callable[[str], None] | None,
    ) -> None:
        self._on_output, self._on_exit = on_output, on_exit

    def _connect(self) -> socket.socket:
        deadline = time.monotonic() + CONNECT_TIMEOUT
        path = str(self.handle.socket_path)
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
                return sock
            except OSError:
                sock.close()
            if self.handle.exited.is_set():
                raise SandboxError(f"the shell {self.handle.exit_reason()} before it was ready")
            if time.monotonic() > deadline:
                self.handle.kill()
                raise SandboxError(f"the shell was not ready within {CONNECT_TIMEOUT:g} s")
            time.sleep(0.01)

    # -- to the shell -----------------------------------------------------------

    def _send(self, kind: bytes, payload: bytes) -> None:
        if self.exited.is_set():
            raise SandboxError("the shell has exited")
        view = memoryview(_frame(kind, payload))
        deadline = time.monotonic() + SEND_TIMEOUT
        with self._send_lock:
            # Without blocking (the reader thread blocks on the same socket): a shell
            # that stops taking input fails the write after SEND_TIMEOUT, never hangs it.
            while view:
                try:
                    view = view[self._sock.send(view, socket.MSG_DONTWAIT) :]
                    continue
                except BlockingIOError:
                    pass
                except OSError as exc:
                    raise SandboxError(f"the shell is gone: {exc}") from exc
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SandboxError("the shell does not take its input")
                select.select([], [self._sock], [], left)

    def write(self, data: bytes) -> None:
        if len(data) > MAX_INPUT:
            raise SandboxError(f"at most {MAX_INPUT} bytes at a time")
        if data:
            self._send(b"i", data)

    def resize(self, rows: int, cols: int) -> None:
        rows, cols = max(1, min(int(rows), MAX_ROWS)), max(1, min(int(cols), MAX_COLS))
        self._send(b"r", struct.pack(">HH", rows, cols))

    def _request(self, kind: bytes, payload: bytes) -> tuple[bytes, bytes]:
        with self._ask:
            self._send(kind, payload)
            try:
                answer = self._answers.get(timeout=ANSWER_TIMEOUT)
            except queue.Empty:
                raise SandboxError("the shell did not answer") from None
            if answer is None:
                raise SandboxError("the shell has exited")
            if answer[0] == b"e":
                raise SandboxError(f"the shell refused: {_error(answer[1])}")
            return answer

    def files(self) -> list[tuple[str, int, str]]:
        """The regular files of the shell's workspace: (path, size, sha1)."""
        kind, payload = self._request(b"s", b"")
        try:
            rows = json.loads(payload) if kind == b"f" else None
            result = [(str(p), int(s), str(h)) for p, s, h in rows]  # type: ignore[union-attr]
        except (ValueError, TypeError) as exc:
            raise SandboxError("the shell answered nonsense") from exc
        return result

    def read(self, path: str) -> bytes:
        kind, payload = self._request(b"g", path.encode())
        name, _, content = payload.partition(b"\0")
        if kind != b"c" or name != path.encode():
            raise SandboxError("the shell answered nonsense")
        return content

    def put(self, path: str, content: bytes) -> None:
        self._request(b"w", path.encode() + b"\0" + content)

    def delete(self, path: str) -> None:
        self._request(b"d", path.encode())

    def history(self) -> bytes:
        with self._history_lock:
            return bytes(self._history)

    def close(self) -> None:
        self.handle.kill()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)

    # -- from the shell ---------------------------------------------------------

    def _recv(self, n: int) -> bytes:
        chunks, left = [], n
        while left:
            chunk = self._sock.recv(min(left, 65536))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _read(self) -> None:
        reason = ""
        try:
            while True:
                head = self._recv(5)
                kind, (size,) = head[:1], struct.unpack(">I", head[1:])
                if size > MAX_FRAME:
                    reason = "sent a frame too large; it was disconnected"
                    break
                if kind == b"o":
                    # Taken at the rate limit: the shell's writers wait inside the sandbox.
                    self._bucket.wait(size)
                payload = self._recv(size)
                if kind == b"o":
                    self.bytes_out += len(payload)
                    with self._history_lock:
                        self._history += payload
                        del self._history[:-HISTORY_BYTES]
                    if self._on_output is not None:
                        with contextlib.suppress(Exception):
                            self._on_output(payload)
                elif kind == b"x":
                    reason = f"exited with status {_status(payload)}"
                    break
                elif kind in (b"f", b"c", b"e", b"k"):
                    self._answers.put((kind, payload))
        except (EOFError, OSError):
            pass
        self._answers.put(None)
        with contextlib.suppress(OSError):
            self._sock.close()
        # Whatever the socket said, the party is ended and removed here: nothing stays.
        self.handle.kill()
        self.reason = reason or f"stopped: it {self.handle.exit_reason()}"
        self.exited.set()
        if self._on_exit is not None:
            with contextlib.suppress(Exception):
                self._on_exit(self.reason)


def _error(payload: bytes) -> str:
    try:
        return str(json.loads(payload).get("error", "error"))[:200]
    except (ValueError, AttributeError):
        return "error"


def _status(payload: bytes) -> str:
    try:
        return str(int(json.loads(payload).get("status")))
    except (ValueError, TypeError, AttributeError):
        return "?"


__all__ = ["SOCKET", "TERM_DIR", "ShellHandle", "Terminal", "shell_command"]
