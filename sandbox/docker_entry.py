"""The first process of every Docker sandbox: takes its run on stdin, then becomes it.

The harness starts a container with this program (`python3 -I -S -c SOURCE`:
no site, no environment) and writes one request to the container's stdin: a
16-digit length, a JSON header of that length (the files' names and sizes, the
command, its environment, its CPU rlimit, the seccomp filter) and the files'
bytes. This program writes the files into the working directory (the party's
own tmpfs), points stdin at /dev/null, lowers RLIMIT_CPU, installs the seccomp
filter (sandbox/seccomp.py) and execs the command under a backstop `timeout`.

So a container needs nothing of its run when it is made: files go in without a
volume or put_archive, and the backend can start containers before a run asks
for one (its warm pool). One that waits here runs nothing of anyone's: it is
used once, for one run, and removed. If the harness goes away first, stdin ends
(the container is made with StdinOnce) and this exits.

Only the standard library, and no import from `sandbox`: this file runs inside
the image, whose Python may be older than the host's.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys

HEADER_DIGITS = 16
# The exit status when the sandbox could not set the run up (as the shell's 125).
SETUP_FAILED = 125
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2


def fail(why: str) -> None:
    os.write(2, f"faultline: {why}\n".encode())
    os._exit(SETUP_FAILED)


def read_exactly(n: int) -> bytes:
    chunks = []
    while n > 0:
        chunk = os.read(0, min(n, 1 << 20))
        if not chunk:
            os._exit(SETUP_FAILED)  # the harness went away before it sent a run
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def write_files(files: list[list[object]]) -> None:
    for name, size in files:
        assert isinstance(name, str) and isinstance(size, int)
        content = read_exactly(size)
        folder = os.path.dirname(name)
        try:
            if folder:
                os.makedirs(folder, exist_ok=True)
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            try:
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        except OSError as exc:
            fail(f"cannot write {name}: {exc.strerror}")


def install_seccomp(code: bytes) -> None:
    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    prog = Prog(len(code) // 8, code)
    # The container already has no-new-privileges; seccomp requires it set here too.
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) or libc.prctl(
        _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0
    ):
        fail(f"cannot install the seccomp filter: {os.strerror(ctypes.get_errno())}")


def main() -> None:
    request = json.loads(read_exactly(int(read_exactly(HEADER_DIGITS))))
    write_files(request["files"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    resource.setrlimit(resource.RLIMIT_CPU, tuple(request["cpu"]))
    if request["seccomp"]:
        install_seccomp(bytes.fromhex(request["seccomp"]))
    # Through `timeout`: a command that cannot be executed is exit status 126/127,
    # as in a shell, and a container whose harness was killed stops by itself.
    argv = ["timeout", "-s", "KILL", str(request["backstop"]), *request["argv"]]
    try:
        os.execvpe(argv[0], argv, request["env"])  # noqa: S606 - the run itself, no shell wanted
    except OSError as exc:
        fail(f"cannot run timeout: {exc.strerror}")


def encode_request(
    *,
    files: dict[str, bytes],
    argv: list[str],
    env: dict[str, str],
    cpu: tuple[int, int],
    seccomp: bytes | None,
    backstop: int,
) -> bytes:
    """The bytes the harness writes to the container's stdin (used on the host)."""
    names = sorted(files)
    header = json.dumps(
        {
            "files": [[name, len(files[name])] for name in names],
            "argv": argv,
            "env": env,
            "cpu": list(cpu),
            "seccomp": seccomp.hex() if seccomp else "",
            "backstop": backstop,
        }
    ).encode()
    length = str(len(header)).rjust(HEADER_DIGITS, "0").encode()
    return b"".join([length, header, *(bytes(files[name]) for name in names)])


if __name__ == "__main__":
    main()
    sys.exit(SETUP_FAILED)
