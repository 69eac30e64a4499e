"""Rebuild a candidate's code at any moment of an interview, and diff it against the starter.

The timeline keeps the full text of a file at each edit checkpoint, so the files
at event N are the starter folded with every file event up to N. The fold is done
here only: the replay page gets the files at every position (`scrubber_data`), and
its scrubber (static/review/replay.js) only looks them up.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FILE_EVENT_KINDS = ("edit", "file_created", "file_deleted")
# Files bigger than this are not diffed line by line: the page would be unreadable.
MAX_DIFF_LINES = 4000


@dataclass(frozen=True)
class FileChange:
    """One file event, reduced to what the fold needs."""

    kind: str
    path: str
    content: str | None  # None for a deletion


def file_change(kind: str, data: Mapping[str, Any]) -> FileChange | None:
    """The file change an event carries, or None when it carries none."""
    path = data.get("path")
    if kind not in FILE_EVENT_KINDS or not isinstance(path, str) or not path:
        return None
    if kind == "file_deleted":
        return FileChange(kind, path, None)
    content = data.get("content")
    return FileChange(kind, path, content if isinstance(content, str) else "")


def apply_change(files: dict[str, str], change: FileChange) -> None:
    if change.content is None:
        files.pop(change.path, None)
    elif change.kind == "file_created" and change.path in files and not change.content:
        # A "created" event without text must not blank a file an edit already filled.
        return
    else:
        files[change.path] = change.content


def files_at(
    starter: Mapping[str, str], changes: Iterable[FileChange | None], upto: int
) -> dict[str, str]:
    """The files after the first `upto` timeline events (0 = the starter)."""
    files = dict(starter)
    for index, change in enumerate(changes):
        if index >= upto:
            break
        if change is not None:
            apply_change(files, change)
    return files


def timeline(
    starter: Mapping[str, str], changes: Iterable[FileChange | None]
) -> list[dict[str, str]]:
    """The files at every position: [the starter, after event 1, ..., after the last]."""
    files = dict(starter)
    states = [dict(files)]
    for change in changes:
        if change is not None:
            apply_change(files, change)
        states.append(dict(files))
    return states


def focus(changes: Sequence[FileChange | None], files: Mapping[str, str], upto: int) -> str | None:
    """The file to show at a position: the one the latest file event up to it touched (what
    the candidate was on), else the first by name."""
    for change in reversed(changes[:upto]):
        if change is not None and change.path in files:
            return change.path
    return min(files) if files else None


def scrubber_data(
    states: Sequence[Mapping[str, str]], changes: Sequence[FileChange | None]
) -> dict[str, Any]:
    """What the scrubber needs at each position, computed here: each text once, and per
    position which text each path has (-1: no such file), the path its event changed
    and the file to show when the one on screen is gone."""
    paths = sorted({path for files in states for path in files})
    contents: list[str] = []
    index: dict[str, int] = {}
    rows = []
    for files in states:
        row = []
        for path in paths:
            text = files.get(path)
            if text is None:
                row.append(-1)
                continue
            if text not in index:
                index[text] = len(contents)
                contents.append(text)
            row.append(index[text])
        rows.append(row)
    return {
        "paths": paths,
        "contents": contents,
        "states": rows,
        "changed": [None] + [c.path if c is not None else None for c in changes],
        "focus": [focus(changes, files, at) for at, files in enumerate(states)],
    }


@dataclass
class DiffLine:
    kind: str  # "add" | "del" | "ctx" | "hunk"
    text: str


@dataclass
class FileDiff:
    path: str
    status: str  # "added" | "removed" | "changed"
    added: int = 0
    removed: int = 0
    lines: list[DiffLine] = field(default_factory=list)
    too_big: bool = False

    @property
    def short(self) -> bool:
        """Short enough to show opened on the page."""
        return len(self.lines) <= 60


def diff_files(before: Mapping[str, str], after: Mapping[str, str]) -> list[FileDiff]:
    """Per-file unified diffs from `before` to `after`, unchanged files left out."""
    diffs: list[FileDiff] = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        status = "added" if old is None else "removed" if new is None else "changed"
        a = (old or "").splitlines()
        b = (new or "").splitlines()
        result = FileDiff(path=path, status=status)
        if len(a) + len(b) > MAX_DIFF_LINES:
            result.too_big = True
            diffs.append(result)
            continue
        for line in list(difflib.unified_diff(a, b, lineterm="", n=3))[2:]:
            if line.startswith("@@"):
                result.lines.append(DiffLine("hunk", line))
            elif line.startswith("+"):
                result.added += 1
                result.lines.append(DiffLine("add", line[1:]))
            elif line.startswith("-"):
                result.removed += 1
                result.lines.append(DiffLine("del", line[1:]))
            else:
                result.lines.append(DiffLine("ctx", line[1:]))
        diffs.append(result)
    return diffs


# The terminal's recording (interviews' "terminal" events: batches of frames
# [ms, kind, text]) as plain text: the output, escape sequences taken out, carriage
# returns and backspaces applied the simple way. The replay shows its tail.
_ESCAPES = re.compile(
    r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]"
)
TERMINAL_TAIL = 6000  # characters of the screen shown at a moment


def terminal_plain(text: str) -> str:
    out: list[str] = []
    for ch in _ESCAPES.sub("", text).replace("\r\n", "\n"):
        if ch == "\b":
            if out and out[-1] != "\n":
                out.pop()
        elif ch == "\r" or (ch < " " and ch not in "\n\t"):
            continue
        else:
            out.append(ch)
    return "".join(out)


def terminal_timeline(events: Sequence[tuple[str, Mapping[str, Any]]]) -> tuple[str, list[int]]:
    """The terminal's text, and for each position (0 to len(events)) how much of it had
    been printed by then."""
    parts: list[str] = []
    size = 0
    offsets = [0]
    for kind, data in events:
        if kind == "terminal":
            frames = [f for f in data.get("frames") or [] if isinstance(f, list) and len(f) >= 3]
            text = "".join(str(f[2]) for f in frames if f[1] == "o")
            exits = [str(f[2]) for f in frames if f[1] == "x"]
            plain = terminal_plain(text) + "".join(f"\n[{message}]\n" for message in exits)
            if data.get("cut"):
                plain += f"\n[{data['cut']}]\n"
            parts.append(plain)
            size += len(plain)
        offsets.append(size)
    return "".join(parts), offsets
