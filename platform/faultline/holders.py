"""Which process holds something (a test run, a candidate's socket): "host:pid", and whether
that process is known to be gone."""

from __future__ import annotations

import os
import socket


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def is_local(holder: str) -> bool:
    """Whether `holder` was a process of this machine (only then can its pid be checked)."""
    return holder.rpartition(":")[0] == socket.gethostname()


def process_is_gone(holder: str) -> bool:
    """True when `holder` was a process of this machine that no longer runs (another
    machine's holder is never known to be gone here: only its heartbeat can tell)."""
    pid = holder.rpartition(":")[2]
    if not is_local(holder) or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
