"""The terminal of a live session: a shell on a pty, inside the sandbox, served on a unix socket.

    python3 -I -S -c SOURCE SOCKET WORKDIR

It runs as the first process of the session's shell party (the candidate's uid, the
app's limits and loopback, its own workspace tmpfs at WORKDIR). It starts an
interactive shell on a new pty in WORKDIR and serves one host connection at a time on
SOCKET (in a directory only this party has bound from the host). Frames both ways are
a kind byte, a 4-byte big-endian length and the payload:

    host -> here   i input bytes   r rows,cols (2+2 bytes)   s list the files
                   w path NUL content (write a file)   d path (delete)   g path (read)
    here -> host   o output bytes  f JSON [[path, size, sha1], ...]   c path NUL content
                   k done (w, d)   e JSON {"error": ...}   x JSON {"status": N} (the shell exited)

Output is read from the pty only while the last frame has been taken by the host, so
a host that reads slowly slows the shell's writers down (the pty's buffer fills and a
flood blocks in write) instead of this process buffering it. Input is always read, so
Ctrl-C reaches the shell whatever it is printing.

The host treats everything that comes from here as hostile: the shell runs as the same
uid and may kill this process or bind its own socket in its place.

Only the standard library, and no import from `sandbox`: it runs inside the sandbox,
whose Python may be older than the host's.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pty
import selectors
import shutil
import socket
import struct
import sys
import termios

READ = 16384
MAX_FRAME = 1 << 20
MAX_FILE = 256 * 1024
MAX_FILES = 400
SKIP_DIRS = {"__pycache__", ".git", "node_modules", ".pytest_cache", ".venv", ".mypy_cache"}


def frame(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack(">I", len(payload)) + payload


def inside(root: str, name: str) -> str | None:
    """The path of `name` under `root`, None if it is absolute or climbs out."""
    if not name or name.startswith("/") or "\0" in name:
        return None
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    return os.path.join(root, *parts)


def listing(root: str) -> list[list[object]]:
    found: list[list[object]] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            path = os.path.join(folder, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not (st.st_mode & 0o170000 == 0o100000) or st.st_size > MAX_FILE:
                continue
            try:
                with open(path, "rb") as handle:
                    digest = hashlib.sha1(handle.read(MAX_FILE + 1)).hexdigest()  # noqa: S324
            except OSError:
                continue
            found.append([os.path.relpath(path, root), st.st_size, digest])
            if len(found) >= MAX_FILES:
                return found
    return found


def handle(kind: bytes, payload: bytes, master: int, root: str) -> bytes | None:
    """Do what a host frame asks; the frame to answer with, if any."""
    if kind == b"r" and len(payload) == 4:
        rows, cols = struct.unpack(">HH", payload)
        with contextlib.suppress(OSError):
            fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        return None
    if kind == b"s":
        return frame(b"f", json.dumps(listing(root)).encode())
    name, _, content = payload.partition(b"\0")
    path = inside(root, name.decode("utf-8", "replace"))
    if path is None:
        return frame(b"e", json.dumps({"error": "bad path"}).encode())
    try:
        if kind == b"w":
            os.makedirs(os.path.dirname(path), exist_ok=True)
            temp = path + ".faultline-new"
            with open(temp, "wb") as out:
                out.write(content)
            os.replace(temp, path)
        elif kind == b"d":
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        elif kind == b"g":
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as src:
                data = src.read(MAX_FILE + 1)
            return frame(b"c", name + b"\0" + data[:MAX_FILE])
        else:
            return frame(b"e", json.dumps({"error": "unknown request"}).encode())
    except OSError as exc:
        return frame(
            b"e",
            json.dumps(
                {"error": exc.strerror or str(exc), "path": name.decode("utf-8", "replace")}
            ).encode(),
        )
    return frame(b"k", b"")


def serve(sock_path: str, root: str) -> int:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(sock_path)
    listener.bind(sock_path)
    listener.listen(1)
    shell = shutil.which("bash") or "/bin/sh"
    env = dict(os.environ, TERM="xterm-256color", PS1="\\w$ ")
    pid, master = pty.fork()
    if pid == 0:
        os.chdir(root)
        argv = [shell, "--norc", "--noprofile", "-i"] if shell.endswith("bash") else [shell, "-i"]
        os.execve(shell, argv, env)  # noqa: S606 - the shell itself, no other wanted
    os.set_blocking(master, False)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, "listen")
    sel.register(master, selectors.EVENT_READ, "pty")
    conn: socket.socket | None = None
    inbuf = b""  # frames from the host, not yet whole
    outbuf = b""  # frames for the host, not yet sent
    typed = b""  # input the pty did not take yet
    status: int | None = None

    def want(fd: object, events: int, data: str) -> None:
        try:
            sel.modify(fd, events, data)  # type: ignore[arg-type]
        except KeyError:
            sel.register(fd, events, data)  # type: ignore[arg-type]

    def drop(fd: object) -> None:
        with contextlib.suppress(KeyError, ValueError):
            sel.unregister(fd)  # type: ignore[arg-type]

    while True:
        # The pty is read only when the host has taken what was read before.
        pty_events = 0 if (outbuf or status is not None) else selectors.EVENT_READ
        if typed:
            pty_events |= selectors.EVENT_WRITE
        if pty_events:
            want(master, pty_events, "pty")
        else:
            drop(master)
        if conn is not None:
            want(conn, selectors.EVENT_READ | (selectors.EVENT_WRITE if outbuf else 0), "conn")
        if status is not None and (not outbuf or conn is None):
            return status
        for key, events in sel.select(timeout=1.0 if status is None else 0.2):
            if key.data == "listen":
                new, _ = listener.accept()
                if conn is not None:  # a new host connection replaces the old one
                    drop(conn)
                    conn.close()
                conn, inbuf = new, b""
                conn.setblocking(False)
            elif key.data == "pty":
                if events & selectors.EVENT_WRITE and typed:
                    try:
                        typed = typed[os.write(master, typed) :]
                    except BlockingIOError:
                        pass
                    except OSError:
                        typed = b""
                if events & selectors.EVENT_READ:
                    try:
                        data = os.read(master, READ)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if data:
                        outbuf += frame(b"o", data)
                    else:  # the shell and everything on its pty are gone
                        _, code = os.waitpid(pid, 0)
                        status = os.waitstatus_to_exitcode(code)
                        outbuf += frame(b"x", json.dumps({"status": status}).encode())
                        drop(master)
            elif key.data == "conn" and conn is not None:
                if events & selectors.EVENT_WRITE and outbuf:
                    try:
                        outbuf = outbuf[conn.send(outbuf) :]
                    except BlockingIOError:
                        pass
                    except OSError:
                        drop(conn)
                        conn.close()
                        conn = None
                        continue
                if events & selectors.EVENT_READ:
                    try:
                        chunk = conn.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        chunk = b""
                    if not chunk:
                        drop(conn)
                        conn.close()
                        conn = None
                        continue
                    inbuf += chunk
                    while len(inbuf) >= 5:
                        (size,) = struct.unpack(">I", inbuf[1:5])
                        if size > MAX_FRAME:
                            inbuf = b""
                            break
                        if len(inbuf) < 5 + size:
                            break
                        kind, payload, inbuf = inbuf[:1], inbuf[5 : 5 + size], inbuf[5 + size :]
                        if kind == b"i":
                            typed += payload
                        else:
                            answer = handle(kind, payload, master, root)
                            if answer:
                                outbuf += answer


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1], sys.argv[2]) or 0)
