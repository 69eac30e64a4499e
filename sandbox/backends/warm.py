"""Pre-started single-party sandboxes, kept ready by a thread (both backends).

A run takes one if one is there (else it starts cold, as before); a thread of
the pool makes the next one meanwhile. Each is used once and then removed like
any run. A sandbox is made for a `kind` (what cannot be changed once it is
made: the Docker backend's tmpfs size; None for bwrap, which resizes its own):
the pool makes sandboxes of the kind the last run asked for and discards the
others. The thread lives as long as the process (a bwrap sandbox dies with the
thread that started it: --die-with-parent). A forked child never uses its
parent's sandboxes: the inherited ones are forgotten (`forget`), not removed.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar


class Prestarted(Protocol):
    @property
    def run_id(self) -> str: ...


W = TypeVar("W", bound=Prestarted)


class WarmPool(Generic[W]):
    def __init__(
        self,
        size: int,
        *,
        make: Callable[[Hashable], W],
        discard: Callable[[W], None],
        usable: Callable[[W], bool],
        forget: Callable[[W], None],
        name: str,
    ) -> None:
        self.size = size
        self.failure: str | None = None  # why the last one could not be made (doctor shows it)
        self._make, self._discard, self._usable, self._forget = make, discard, usable, forget
        self._name = name
        self._kind: Hashable = None
        self._ready: list[W] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pid = -1

    def take(self, kind: Hashable = None) -> W | None:
        if self.size <= 0:
            return None
        with self._lock:
            if self._pid != os.getpid():
                self._start_in_this_process()
            stale: list[W] = []
            if kind != self._kind:
                stale, self._ready, self._kind = self._ready, [], kind
            warm = self._ready.pop(0) if self._ready else None
        self._wake.set()
        for old in stale:
            self._discard(old)
        if warm is not None and not self._usable(warm):
            self._discard(warm)  # e.g. killed from outside while it waited
            return None
        return warm

    def ready(self) -> list[str]:
        """Run ids of the sandboxes waiting to be taken (for tests and doctor)."""
        with self._lock:
            return [warm.run_id for warm in self._ready] if self._pid == os.getpid() else []

    def _start_in_this_process(self) -> None:
        for warm in self._ready:
            self._forget(warm)
        self._ready = []
        self._pid = os.getpid()
        name = f"faultline-warm-{self._name}"
        filler = threading.Thread(target=self._fill, name=name, daemon=True)
        filler.start()
        atexit.register(self.close)

    def _fill(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            while True:
                with self._lock:
                    kind = self._kind
                    if len(self._ready) >= self.size:
                        break
                try:
                    warm = self._make(kind)
                except Exception as exc:  # runs start cold meanwhile
                    self.failure = str(exc)
                    time.sleep(1)
                    break
                with self._lock:
                    # close() ran, or runs asked for another kind meanwhile: do not keep it
                    keep = self.size > 0 and kind == self._kind
                    if keep:
                        self._ready.append(warm)
                if not keep:
                    self._discard(warm)

    def close(self) -> None:
        with self._lock:
            ready, self._ready = self._ready, []
            self.size = 0
        for warm in ready:
            with contextlib.suppress(Exception):
                self._discard(warm)
