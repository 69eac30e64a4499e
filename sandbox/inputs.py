"""Checking a run before anything starts, and reading a workspace from disk.

Every path the candidate controls is checked here, once, so that backends can
materialise files without ever resolving a name the sandbox could influence.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from sandbox.spec import Files, InputRejected, Limits, Party, RunSpec

MAX_PATH_CHARS = 1024
MAX_NAME_BYTES = 255
MAX_ARGS = 4096
MAX_ENV = 512
# What execve takes: one argument or variable up to 128 KiB (MAX_ARG_STRLEN), all
# together a quarter of the stack limit (2 MiB by default); some of it is ours.
MAX_ARG_BYTES = 128 * 1024 - 1
MAX_EXEC_BYTES = 1024 * 1024
# Every Limits field checked before a run, with its ceiling: far above any exercise,
# low enough that no limit overflows a timer or a kernel field.
LIMIT_MAX = {
    "wall_seconds": 24 * 3600,
    "cpu_seconds": 24 * 3600,
    "memory_mb": 1 << 20,
    "pids": 1 << 22,
    "disk_mb": 1 << 20,
    "output_bytes": 1 << 30,
}


def check_path(path: object) -> str:
    """Return `path` if it is a safe relative POSIX path, else raise InputRejected."""
    if not isinstance(path, str):
        raise InputRejected(f"file name {path!r} is not a string")
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputRejected(f"file name {path!r} is not valid UTF-8") from exc
    if not path:
        raise InputRejected("empty file name")
    if len(path) > MAX_PATH_CHARS:
        raise InputRejected(f"file name too long ({len(path)} characters)")
    if path.startswith("/"):
        raise InputRejected(f"absolute path refused: {path!r}")
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in path) or "\\" in path:
        raise InputRejected(f"control character or backslash in file name {path!r}")
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise InputRejected(f"path component {part!r} refused in {path!r}")
        if len(part.encode("utf-8")) > MAX_NAME_BYTES:
            raise InputRejected(f"file name component too long in {path!r}")
    del encoded
    return path


def check_files(files: Files, limits: Limits, who: str) -> None:
    if not isinstance(files, Mapping):
        raise InputRejected(f"{who} files must be a mapping of path to bytes")
    if len(files) > limits.max_files:
        raise InputRejected(f"{who}: too many files ({len(files)} > {limits.max_files})")
    total = 0
    names = set()
    for path, content in files.items():
        check_path(path)
        if not isinstance(content, bytes | bytearray):
            raise InputRejected(f"{who}: content of {path!r} is not bytes")
        if len(content) > limits.max_file_bytes:
            raise InputRejected(
                f"{who}: {path!r} is too large ({len(content)} > {limits.max_file_bytes} bytes)"
            )
        total += len(content)
        names.add(path)
    if total > limits.max_total_bytes:
        raise InputRejected(f"{who}: files too large in total ({total} bytes)")
    if total > limits.disk_mb * 1024 * 1024 // 2:
        raise InputRejected(f"{who}: files ({total} bytes) need more than half the disk limit")
    for path in names:
        parts = path.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in names:
                raise InputRejected(f"{who}: {path!r} lies under the file {'/'.join(parts[:i])!r}")


def _check_party(party: Party, who: str, limits: Limits) -> None:
    cmd = party.command
    if not isinstance(cmd, list | tuple) or not cmd:
        raise InputRejected(f"{who}: command must be a non-empty list of strings")
    if len(cmd) > MAX_ARGS:
        raise InputRejected(f"{who}: too many command arguments")
    for arg in cmd:
        if not isinstance(arg, str) or "\x00" in arg:
            raise InputRejected(f"{who}: command arguments must be strings without NUL")
    if len(party.env) > MAX_ENV:
        raise InputRejected(f"{who}: too many environment variables")
    for key, value in party.env.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InputRejected(f"{who}: environment keys and values must be strings")
        if not key or "=" in key or "\x00" in key or "\x00" in value:
            raise InputRejected(f"{who}: invalid environment variable {key!r}")
    strings = [*cmd, *(f"{key}={value}" for key, value in party.env.items())]
    sizes = [len(text.encode("utf-8", "surrogateescape")) for text in strings]
    biggest = max(range(len(sizes)), key=sizes.__getitem__)
    if sizes[biggest] > MAX_ARG_BYTES:
        raise InputRejected(
            f"{who}: a command argument or variable is too long ({sizes[biggest]} bytes, at "
            f"most {MAX_ARG_BYTES}): {strings[biggest][:40]!r}...; pass large input as a file"
        )
    if sum(sizes) > MAX_EXEC_BYTES:
        raise InputRejected(
            f"{who}: command and environment too large ({sum(sizes)} bytes, at most "
            f"{MAX_EXEC_BYTES}); pass large input as a file"
        )
    check_files(party.files, limits, who)


def check_spec(spec: RunSpec) -> None:
    """Raise InputRejected unless `spec` is safe and sensible to run."""
    lim = spec.limits
    if not isinstance(lim, Limits):
        raise InputRejected("limits must be a sandbox.spec.Limits")
    for name, most in LIMIT_MAX.items():
        value = getattr(lim, name)
        if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
            raise InputRejected(f"limit {name} must be a positive number, got {value!r}")
        if not math.isfinite(value) or value > most:
            raise InputRejected(f"limit {name} must be at most {most}, got {value!r}")
    if lim.memory_mb < 16:
        raise InputRejected("limit memory_mb must be at least 16")
    if lim.pids < 4:
        raise InputRejected("limit pids must be at least 4")
    _check_party(spec.app, "app", lim)
    if spec.tester is not None:
        _check_party(spec.tester, "tester", lim)


def read_workspace(root: str | os.PathLike[str], limits: Limits) -> dict[str, bytes]:
    """Read a directory into Files, refusing symlinks, special files and oversize input."""
    base = Path(root)
    try:
        st = os.lstat(base)
    except OSError as exc:
        raise InputRejected(f"workspace {str(base)!r}: {exc.strerror}") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise InputRejected(f"workspace {str(base)!r} is not a directory")
    files: dict[str, bytes] = {}
    total = 0

    def unreadable(exc: OSError) -> None:  # os.walk would skip a directory it cannot list
        raise InputRejected(f"workspace: cannot read {exc.filename!r}: {exc.strerror}")

    for dirpath, dirnames, filenames in os.walk(base, onerror=unreadable):
        rel_dir = os.path.relpath(dirpath, base)
        for name in sorted(dirnames) + sorted(filenames):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InputRejected(f"file name {rel!r} is not valid UTF-8") from exc
            try:
                data = _read_regular(os.path.join(dirpath, name), rel, limits)
            except OSError as exc:  # removed or swapped while we read
                raise InputRejected(f"workspace: cannot read {rel!r}: {exc.strerror}") from exc
            if data is None:
                continue
            if len(files) >= limits.max_files:
                raise InputRejected(f"too many files (more than {limits.max_files})")
            total += len(data)
            if total > limits.max_total_bytes:
                raise InputRejected("workspace too large in total")
            files[rel] = data
    return files


def _read_regular(full: str, rel: str, limits: Limits) -> bytes | None:
    """The content of the regular file `full`, None for a directory; refuses the rest."""
    st = os.lstat(full)
    if stat.S_ISLNK(st.st_mode):
        raise InputRejected(f"symlink refused: {rel!r}")
    if stat.S_ISDIR(st.st_mode):
        return None
    if not stat.S_ISREG(st.st_mode):
        raise InputRejected(f"not a regular file: {rel!r}")
    check_path(rel)
    if st.st_size > limits.max_file_bytes:
        raise InputRejected(f"{rel!r} is too large ({st.st_size} bytes)")
    # O_NONBLOCK and a second look at what was opened: a file swapped for a FIFO
    # or a symlink after the lstat above must not block or mislead us.
    fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise InputRejected(f"not a regular file: {rel!r}")
        data = fh.read(limits.max_file_bytes + 1)
    if len(data) > limits.max_file_bytes:
        raise InputRejected(f"{rel!r} is too large")
    return data
