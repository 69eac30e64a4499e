"""The live sessions of this web process: one per started interview that someone views.

The web process owns them because it serves their previews: it reaches each app
through the session's unix socket (sandbox/live.py), which lives on this host. A
session starts when the interview starts or when a viewer opens its preview (so a
restarted platform replaces what it lost), restarts the app when the candidate
saves (debounced), and stops when the interview is no longer live, when nobody has
viewed it for LIVE_IDLE_MINUTES, or when the process exits. A process killed
without cleanup leaves its sessions to the sandbox reaper.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections

import sandbox.live as sandbox_live
from exercises import catalog
from exercises.live import CONTROL_SOCKET, Switchboard, live_spec

log = logging.getLogger(__name__)

# A save after a quiet spell restarts the app at once; saves that follow it closer
# together than this restart it once more, this long after the last of them.
DEBOUNCE_SECONDS = 0.3
HOUSEKEEPING_SECONDS = 5.0


class PreviewUnavailable(Exception):
    """No live session can be had (capacity reached, previews off, interview not live)."""


@dataclass
class Live:
    interview_id: int
    session: sandbox_live.LiveSession
    switchboard: Switchboard
    last_seen: float = field(default_factory=time.monotonic)
    timer: threading.Timer | None = None
    last_save: float = 0.0  # time.monotonic() of the last files_changed


FilesOf = Callable[[int], dict[str, bytes]]
SlugOf = Callable[[int], str]
EventSink = Callable[[int, sandbox_live.LiveEvent], None]
StillLive = Callable[[int], bool]


class LiveManager:
    def __init__(
        self,
        *,
        capacity: int,
        idle_seconds: float,
        backend: str | None,
        files_of: FilesOf,
        slug_of: SlugOf,
        on_event: EventSink,
        still_live: StillLive,
    ) -> None:
        self.capacity, self.idle_seconds, self.backend = capacity, idle_seconds, backend
        self._files_of, self._slug_of = files_of, slug_of
        self._on_event, self._still_live = on_event, still_live
        self._lives: dict[int, Live] = {}
        self._starting: set[int] = set()
        self._lock = threading.Condition()
        self._closed = False
        self._keeper = threading.Thread(target=self._housekeep, name="faultline-live-keeper",
                                        daemon=True)  # fmt: skip
        self._keeper.start()

    def get(self, interview_id: int) -> Live | None:
        with self._lock:
            live = self._lives.get(interview_id)
        if live is not None and not live.session.alive:
            self.stop(interview_id, "its sandbox stopped")
            return None
        return live

    def ensure(self, interview_id: int) -> Live:
        """The interview's session, started if it has none (blocks while it starts)."""
        with self._lock:
            while interview_id in self._starting:
                self._lock.wait()
            live = self._lives.get(interview_id)
            if live is not None and live.session.alive:
                live.last_seen = time.monotonic()
                return live
            if self._closed:
                raise PreviewUnavailable("the platform is shutting down")
            if len(self._lives) + len(self._starting) >= self.capacity:
                raise PreviewUnavailable(
                    f"All {self.capacity} live previews of this server are in use "
                    "(FAULTLINE_LIVE_SESSIONS); one frees up when another interview ends "
                    "or its preview has been idle for a while."
                )
            self._starting.add(interview_id)
        try:
            exercise = catalog.find(self._slug_of(interview_id), settings.EXERCISES_DIR)
            spec = live_spec(exercise, self._files_of(interview_id))
            session = sandbox_live.start(
                spec, self.backend, on_event=lambda event: self._event(interview_id, event)
            )
            live = Live(interview_id, session, Switchboard(session.socket(CONTROL_SOCKET)))
            with self._lock:
                # Known before it stops "starting": a waiter must find it, not start another.
                self._lives[interview_id] = live
        finally:
            with self._lock:
                self._starting.discard(interview_id)
                self._lock.notify_all()
        return live

    def touch(self, interview_id: int) -> None:
        with self._lock:
            live = self._lives.get(interview_id)
            if live is not None:
                live.last_seen = time.monotonic()

    def files_changed(self, interview_id: int) -> None:
        """The candidate saved: restart the app with the files as they are then."""
        with self._lock:
            live = self._lives.get(interview_id)
            if live is None:
                return
            if live.timer is not None:
                live.timer.cancel()
            now = time.monotonic()
            # A lone save waits for nothing (the editor already sends it after a pause in
            # typing); within a burst, one restart after the burst ends (a newer restart
            # supersedes a start under way, so the first one costs no wait either).
            wait = DEBOUNCE_SECONDS if now - live.last_save < DEBOUNCE_SECONDS else 0.0
            live.last_save = now
            live.timer = threading.Timer(wait, self._restart, args=(live,))
            live.timer.daemon = True
            live.timer.start()

    def _restart(self, live: Live) -> None:
        try:
            live.session.restart(self._files_of(live.interview_id))
        except Exception as exc:  # bad files are the candidate's: the log says why
            live.session.logs.add("faultline", f"the app was not restarted: {exc}", 0)
        finally:
            close_old_connections()

    def _event(self, interview_id: int, event: sandbox_live.LiveEvent) -> None:
        try:
            self._on_event(interview_id, event)
        except Exception:
            log.exception("recording a live-session event failed")
        finally:
            close_old_connections()

    def stop(self, interview_id: int, reason: str = "stopped") -> None:
        with self._lock:
            live = self._lives.pop(interview_id, None)
        if live is not None:
            if live.timer is not None:
                live.timer.cancel()
            live.switchboard.close()
            live.session.stop(reason)
            from preview import terminal

            terminal.forget(interview_id)

    def stop_all(self, reason: str = "the platform stopped") -> None:
        with self._lock:
            self._closed = True
            ids = list(self._lives)
        for interview_id in ids:
            self.stop(interview_id, reason)

    def running(self) -> list[int]:
        with self._lock:
            return sorted(self._lives)

    def _housekeep(self) -> None:
        while True:
            time.sleep(HOUSEKEEPING_SECONDS)
            with self._lock:
                if self._closed:
                    return
                lives = list(self._lives.values())
            for live in lives:
                try:
                    if not live.session.alive:
                        self.stop(live.interview_id, "its sandbox stopped")
                    elif time.monotonic() - live.last_seen > self.idle_seconds:
                        self.stop(live.interview_id, "nobody viewed the preview for a while")
                    elif not self._still_live(live.interview_id):
                        self.stop(live.interview_id, "the interview is no longer live")
                except Exception:
                    log.exception("live-session housekeeping failed")
                finally:
                    close_old_connections()


_manager: LiveManager | None = None
_manager_lock = threading.Lock()


def manager() -> LiveManager:
    """This process's manager, made on first use (and stopped at exit)."""
    global _manager
    with _manager_lock:
        if _manager is None:
            from preview import services

            _manager = LiveManager(
                capacity=settings.LIVE_SESSIONS,
                idle_seconds=settings.LIVE_IDLE_MINUTES * 60,
                backend=settings.SANDBOX_BACKEND,
                files_of=services.workspace_bytes,
                slug_of=services.exercise_slug,
                on_event=services.live_event_record,
                still_live=services.interview_is_live,
            )
            atexit.register(_manager.stop_all)
        return _manager


def current() -> LiveManager | None:
    """This process's manager if it was made (None in a worker that never served a preview)."""
    return _manager


def workspace_changed(sender: object, interview_id: int, **kwargs: object) -> None:
    """The candidate's files changed (interviews.workspace.changed, sent after commit):
    restart their live app (if this process runs one; a worker or a command has none)."""
    running = _manager
    if running is not None:
        running.files_changed(interview_id)
    from preview import terminal

    shared = terminal.existing(interview_id)
    if shared is not None:
        shared.files_changed()  # into the shell's workspace too


def set_manager(replacement: LiveManager | None) -> LiveManager | None:
    """For tests: use `replacement` (None: make one again on next use); returns the old."""
    global _manager
    with _manager_lock:
        old, _manager = _manager, replacement
    return old


__all__ = ["Live", "LiveManager", "PreviewUnavailable", "manager", "set_manager"]
