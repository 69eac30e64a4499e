"""Removing what a finished run left, in a thread, just after the run returns.

Once every process of a run is dead (a run waits for that), what is left is
inert: empty cgroups and an unused tmpfs (bwrap), a stopped container (Docker).
Removing it costs 1-4 ms for bwrap (memory cgroups go offline slowly, v1 most),
a third of a warm single-party run, and ~30 ms for a container; so a thread does
it while the caller reads the result. The interpreter waits for these threads
before it exits, `leftovers()` waits for them (`wait`), and the reaper covers a
harness killed meanwhile.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("sandbox")


class Teardown:
    def __init__(self) -> None:
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def later(self, remove: Callable[[], None]) -> None:
        thread = threading.Thread(target=self._run, args=(remove,), name="faultline-teardown")
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _run(self, remove: Callable[[], None]) -> None:
        try:
            remove()
        except Exception as exc:  # what fails is the reaper's to retry when we exit
            log.warning("sandbox teardown: %s", exc)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def wait(self) -> None:
        """Return once every teardown started so far has finished."""
        with self._lock:
            pending = list(self._threads)
        for thread in pending:
            thread.join()
