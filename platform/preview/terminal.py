"""The interview's terminal: one shell in its live session, shared by the room and the console.

A TerminalHub per interview owns the session's Terminal (sandbox/terminal.py): it
fans the shell's output out to the interview's sockets (as `terminal_output` events
carrying the byte offset they end at, so a viewer who joins with the history drops
what it already has), records input and output on the timeline in batches, bounded
per interview, and keeps the shell's workspace and the interview's files in step both
ways. docs/live.md ("The terminal") describes the design.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections

from interviews import events
from interviews.models import Interview, TimelineEvent
from interviews.workspace import MAX_FILE_BYTES
from sandbox.spec import SandboxError
from sandbox.terminal import MAX_INPUT, Terminal
from web.terminal_port import TerminalUnavailable

log = logging.getLogger(__name__)

# What goes on the timeline: batches of frames [ms after the batch began, kind, text]
# (o: output, i: the candidate's input, j: an interviewer's, r: a resize), flushed
# every FLUSH_SECONDS, up to RECORD_LIMIT characters per interview; then one event
# says where the recording stops.
FLUSH_SECONDS = 0.25
RECORD_LIMIT = 2_000_000
HISTORY_BYTES = 64 * 1024
SYNC_SECONDS = 1.0
CUT_MESSAGE = (
    "The terminal's recording stops here: it reached its limit of {limit:,} characters. "
    "The terminal itself kept working."
)


def _sha(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()  # noqa: S324 - a change detector, not security


class TerminalHub:
    def __init__(
        self,
        interview_id: int,
        session_of: Callable[[int], Any],
        files_of: Callable[[int], dict[str, bytes]],
    ) -> None:
        self.interview_id = interview_id
        self._session_of, self._files_of = session_of, files_of
        self._lock = threading.RLock()
        self._open_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self.term: Terminal | None = None
        self._history = bytearray()
        self.total = 0  # output bytes so far (the offsets viewers track)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._frames: list[list[Any]] = []
        self._batch_started = 0.0
        self._recorded = _recorded_so_far(interview_id)
        self._cut = self._recorded >= RECORD_LIMIT
        self._known: dict[str, str] = {}
        self._wake = threading.Event()
        self.typing_allowed: set[str] = set()

    # -- opening ----------------------------------------------------------------

    def running(self) -> bool:
        term = self.term
        return term is not None and not term.exited.is_set()

    def open(self) -> Terminal:
        """The running shell, else a new one in the live session (blocks while it starts)."""
        from preview.manager import PreviewUnavailable

        with self._open_lock:
            term = self.term
            if term is not None and not term.exited.is_set():
                return term
            try:
                session = self._session_of(self.interview_id)
                files = self._files_of(self.interview_id)
                term = session.open_terminal(files, self._output, self._exit)
            except PreviewUnavailable as exc:
                raise TerminalUnavailable(str(exc)) from exc
            except SandboxError as exc:
                raise TerminalUnavailable(f"The terminal could not be started: {exc}") from exc
            with self._lock:
                self.term = term
                self._known = {path: _sha(content) for path, content in files.items()}
            threading.Thread(
                target=self._sync_loop, args=(term,), name="faultline-term-sync", daemon=True
            ).start()
            return term

    def snapshot(self) -> dict[str, Any]:
        """What a viewer who opens the terminal needs: the recent output and its offset."""
        with self._lock:
            return {
                "running": self.running(),
                "history": bytes(self._history).decode("utf-8", "replace"),
                "end": self.total,
                "typing": sorted(self.typing_allowed),
            }

    # -- input ------------------------------------------------------------------

    def write(self, text: str, actor: str, *, staff: bool) -> None:
        data = text.encode()
        if len(data) > MAX_INPUT:
            raise ValueError(f"At most {MAX_INPUT} bytes at a time.")
        term = self.term
        if term is None or term.exited.is_set():
            raise TerminalUnavailable("The shell is not running.")
        try:
            term.write(data)
        except SandboxError as exc:
            raise TerminalUnavailable("The shell is not running.") from exc
        self._record("j" if staff else "i", text, actor if staff else None)

    def resize(self, rows: int, cols: int) -> None:
        term = self.term
        if term is not None and not term.exited.is_set():
            with contextlib.suppress(SandboxError):
                term.resize(rows, cols)
                self._record("r", f"{rows}x{cols}")

    def allow_typing(self, actor: str, on: bool) -> None:
        with self._lock:
            (self.typing_allowed.add if on else self.typing_allowed.discard)(actor)
            typing = sorted(self.typing_allowed)
        self._record("t", "on" if on else "off", actor)
        events.broadcast(
            self.interview_id,
            {"kind": "terminal_typing", "actor": actor, "on": on, "typing": typing},
        )

    def close(self) -> None:
        term = self.term
        if term is not None:
            term.close()

    # -- output (the terminal's reader thread) ------------------------------------

    def _output(self, data: bytes) -> None:
        with self._lock:
            self.total += len(data)
            self._history += data
            del self._history[:-HISTORY_BYTES]
            text = self._decoder.decode(data)
            end = self.total
        self._record("o", text)
        events.broadcast(self.interview_id, {"kind": "terminal_output", "data": text, "end": end})

    def _exit(self, reason: str) -> None:
        session = None
        with contextlib.suppress(Exception):
            session = self._session_of_running()
        if session is None:
            message = "The live sandbox has stopped, and the terminal with it."
        else:
            message = f"The shell {reason}. Press a key to start a new one."
        self._record("x", message)
        self._flush()
        events.broadcast(self.interview_id, {"kind": "terminal_exit", "message": message})
        close_old_connections()

    def _session_of_running(self) -> Any:
        from preview.manager import current

        mgr = current()
        live = mgr.get(self.interview_id) if mgr is not None else None
        return live.session if live is not None and live.session.alive else None

    # -- the timeline -------------------------------------------------------------

    def _record(self, kind: str, text: str, actor: str | None = None) -> None:
        with self._lock:
            if self._cut:
                return
            now = time.monotonic()
            if not self._frames:
                self._batch_started = now
                threading.Timer(FLUSH_SECONDS, self._flush).start()
            frame: list[Any] = [int((now - self._batch_started) * 1000), kind, text]
            if actor:
                frame.append(actor)
            self._frames.append(frame)

    def _flush(self) -> None:
        with self._lock:
            frames, self._frames = self._frames, []
            if not frames or self._cut:
                return
            size = sum(len(f[2]) for f in frames)
            left = RECORD_LIMIT - self._recorded
            cut = size > left
            if cut:
                frames = _clip(frames, left)
                size = left
            self._recorded += size
            self._cut = cut
            total = self._recorded
        try:
            interview = Interview.objects.filter(pk=self.interview_id).first()
            if interview is None:
                return
            events.record(
                interview,
                TimelineEvent.Kind.TERMINAL,
                actor="terminal",
                data={"frames": frames, "recorded": total},
                notify=False,
            )
            if cut:
                events.record(
                    interview,
                    TimelineEvent.Kind.TERMINAL,
                    actor="terminal",
                    data={
                        "frames": [],
                        "recorded": total,
                        "cut": CUT_MESSAGE.format(limit=RECORD_LIMIT),
                    },
                )
        except Exception:
            log.exception("recording the terminal failed")
        finally:
            close_old_connections()

    # -- files both ways ----------------------------------------------------------

    def files_changed(self) -> None:
        self._wake.set()

    def _sync_loop(self, term: Terminal) -> None:
        while not term.exited.is_set():
            self._wake.wait(SYNC_SECONDS)
            self._wake.clear()
            if term.exited.is_set():
                return
            try:
                self.sync(term)
            except SandboxError:
                continue  # the shell is busy or gone; the next round tells
            except Exception:
                log.exception("syncing the terminal's files failed")
            finally:
                close_old_connections()

    def sync(self, term: Terminal) -> None:
        """One round: the editor's changes into the shell, the shell's into the workspace.
        A file changed on both sides since the last round keeps the editor's text."""
        from preview import services

        with self._sync_lock:
            workspace = self._files_of(self.interview_id)
            listing = term.files()
            in_shell = {path: sha for path, _size, sha in listing}
            complete = len(listing) < 400
            for path in sorted(set(workspace) | set(in_shell) | set(self._known)):
                known = self._known.get(path)
                mine = _sha(workspace[path]) if path in workspace else None
                theirs = in_shell.get(path)
                if mine == theirs:
                    if mine is None:
                        self._known.pop(path, None)
                    else:
                        self._known[path] = mine
                    continue
                if mine != known or (theirs is None and not complete):
                    # The editor's side changed (or the shell's listing is cut short).
                    if mine is None:
                        term.delete(path)
                        self._known.pop(path, None)
                    else:
                        term.put(path, workspace[path])
                        self._known[path] = mine
                    continue
                # The shell's side changed.
                if theirs is None:
                    if services.terminal_file_delete(self.interview_id, path):
                        self._known.pop(path, None)
                    continue
                content = term.read(path)
                if len(content) > MAX_FILE_BYTES:
                    continue
                if services.terminal_file_save(self.interview_id, path, content):
                    self._known[path] = _sha(content)
                else:
                    self._known[path] = theirs  # not savable (binary, a read-only folder)


def _clip(frames: list[list[Any]], left: int) -> list[list[Any]]:
    kept: list[list[Any]] = []
    for frame in frames:
        if left <= 0:
            break
        text = frame[2][:left]
        left -= len(text)
        kept.append([frame[0], frame[1], text, *frame[3:]])
    return kept


def _recorded_so_far(interview_id: int) -> int:
    last = (
        TimelineEvent.objects.filter(interview_id=interview_id, kind=TimelineEvent.Kind.TERMINAL)
        .order_by("-at", "-id")
        .values_list("data", flat=True)
        .first()
    )
    recorded = (last or {}).get("recorded", 0)
    return recorded if isinstance(recorded, int) else 0


_hubs: dict[int, TerminalHub] = {}
_hubs_lock = threading.Lock()


def hub(interview_id: int) -> TerminalHub:
    """This process's hub of the interview (made on first use)."""
    from preview import services
    from preview.manager import manager

    with _hubs_lock:
        found = _hubs.get(interview_id)
        if found is None:
            found = _hubs[interview_id] = TerminalHub(
                interview_id,
                lambda pk: manager().ensure(pk).session,
                services.workspace_bytes,
            )
        return found


def existing(interview_id: int) -> TerminalHub | None:
    with _hubs_lock:
        return _hubs.get(interview_id)


def forget(interview_id: int) -> None:
    """The interview's live session stopped: its hub goes (its shell went with the session)."""
    with _hubs_lock:
        gone = _hubs.pop(interview_id, None)
    if gone is not None:
        gone.close()


__all__ = ["TerminalHub", "TerminalUnavailable", "existing", "forget", "hub"]
