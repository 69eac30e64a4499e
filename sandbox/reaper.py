"""The reaper: removes a harness process's sandboxes the moment that process dies.

A run cleans up after itself, but a harness killed mid-run (SIGKILL, an OOM kill,
a Celery worker shot by its parent) runs no cleanup. Its bwrap processes die with
it (--die-with-parent), yet its cgroups and scratch mounts stay; its Docker
containers even keep running. So the first run of each harness process starts
one reaper: a small process in its own session (a signal to the harness's
process group does not reach it) that waits for the harness to exit, then sweeps
what that harness owned, and exits. A sweep at the next start remains the
backstop for when the reaper is killed too.

    python -I sandbox/reaper.py OWNER_PID BACKEND...

The reaper imports nothing of the sandbox until the harness is gone, so it costs
one idle interpreter per harness process.
"""

from __future__ import annotations

import logging
import os
import select
import subprocess
import sys
import threading
from pathlib import Path

log = logging.getLogger(__name__)
_lock = threading.Lock()
# The pid whose reaper is running (a forked child needs its own) and its backends.
_started: dict[int, set[str]] = {}


def ensure_reaper(backend: str) -> None:
    """Make sure a reaper sweeps `backend` when this process dies (cheap after the first)."""
    pid = os.getpid()
    with _lock:
        watched = _started.setdefault(pid, set())
        if backend in watched:
            return
        watched.add(backend)  # tried once: a failure below is not retried at every run
        try:
            subprocess.Popen(
                [sys.executable, "-I", __file__, str(pid), backend],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
        except (OSError, ValueError) as exc:
            # Runs still clean up after themselves; only a killed harness then waits
            # for the next start-up sweep.
            log.warning("sandbox reaper not started (%s): a killed harness leaves "
                        "its sandboxes to the next sweep", exc)  # fmt: skip


def _wait_for_exit(owner: int) -> None:
    """Return once `owner`, our parent, has exited (or at once if it already has)."""
    try:
        fd = os.pidfd_open(owner)
    except ProcessLookupError:
        return
    except OSError:  # a kernel before 5.3: poll for the reparenting instead
        while os.getppid() == owner:
            select.select([], [], [], 0.2)
        return
    # The pid could have been reused before pidfd_open: only our parent counts.
    if os.getppid() == owner:
        select.select([fd], [], [])
    os.close(fd)


def main(argv: list[str]) -> int:
    owner, backends = int(argv[0]), argv[1:]
    _wait_for_exit(owner)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import sandbox

    for name in backends:
        try:
            sandbox.get_backend(name).sweep(dead_owner=owner)
        except Exception as exc:  # the next start's sweep is the backstop
            print(f"faultline reaper: {name} sweep failed: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
