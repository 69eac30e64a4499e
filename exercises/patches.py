"""Mutants as patches: a unified diff against an exercise's solution/, applied in memory.

A mutant's `mutant.patch` is what `diff -ruN solution/ edited/` or `git diff` prints
(paths with the `a/` and `b/` prefixes; `/dev/null` on one side creates or deletes a
file). It is applied strictly: every hunk must stand at the line its header names, with
its context and removed lines exactly as they are in the solution. No offset, no fuzz:
a solution change under or above a hunk makes the mutant stale, and loading the
exercise says so (file, hunk and line) instead of grading a mutant of older code.

`make_patch` writes one from an edited copy of the solution; `apply_patch` applies one.
Both work on `Files` ({relative POSIX path: bytes}), text files only.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

DEV_NULL = "/dev/null"
NO_NEWLINE = "\\ No newline at end of file"
HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
# git's extended header lines a patch may carry; they say nothing the hunks do not.
GIT_HEADERS = ("diff ", "index ", "new file mode ", "deleted file mode ", "old mode ", "new mode ")
# What a patch of text against the solution cannot express: refused by name.
REFUSED_HEADERS = (
    "rename ",
    "copy ",
    "similarity index",
    "dissimilarity index",
    "Binary files ",
    "GIT binary patch",
)
CONTEXT = 3

# A line of a file: its text (without the newline) and whether a newline ends it.
Line = tuple[str, bool]
Files = dict[str, bytes]


class PatchError(ValueError):
    """A patch that cannot be read or does not apply; `line` is the patch's line (1-based)."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass
class Hunk:
    line: int  # where its @@ header stands in the patch
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    old: list[Line] = field(default_factory=list)  # context and removed lines, in order
    new: list[Line] = field(default_factory=list)  # context and added lines, in order

    @property
    def header(self) -> str:
        return f"@@ -{self.old_start},{self.old_count} +{self.new_start},{self.new_count} @@"


@dataclass
class FilePatch:
    line: int  # where its `---` line stands in the patch
    old_path: str | None  # None: the file is created
    new_path: str | None  # None: the file is deleted
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def path(self) -> str:
        path = self.new_path if self.new_path is not None else self.old_path
        assert path is not None
        return path


def _split(text: str) -> list[Line]:
    if not text:
        return []
    parts = text.split("\n")
    if parts[-1] == "":
        return [(part, True) for part in parts[:-1]]
    return [(part, True) for part in parts[:-1]] + [(parts[-1], False)]


def _join(lines: list[Line]) -> str:
    return "".join(text + ("\n" if newline else "") for text, newline in lines)


def _safe_path(raw: str, line: int) -> str:
    """A solution-relative path: not absolute, no `..` or `.` part, no backslash."""
    path = PurePosixPath(raw)
    if (
        not raw
        or path.is_absolute()
        or raw.startswith("~")
        or "\\" in raw
        or any(part in ("..", ".", "") for part in raw.split("/"))
    ):
        raise PatchError(line, f"{raw!r} is outside the solution (a path relative to solution/)")
    return raw


def _header_path(text: str, prefix: str, line: int) -> str | None:
    raw = text.split("\t", 1)[0].rstrip("\r")
    if raw == DEV_NULL:
        return None
    if not raw.startswith(prefix):
        raise PatchError(line, f"path {raw!r} lacks the {prefix!r} prefix (diff -ruN or git diff)")
    return _safe_path(raw[len(prefix) :], line)


def parse_patch(text: str) -> list[FilePatch]:
    """Read a unified diff; PatchError on anything that is not one, or that a hunk's
    header and body disagree on."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    patches: list[FilePatch] = []
    seen: set[str] = set()
    i = 0
    while i < len(lines):
        number, current = i + 1, lines[i]
        if current.startswith("--- "):
            if i + 1 >= len(lines) or not lines[i + 1].startswith("+++ "):
                raise PatchError(number, "a '---' line without the '+++' line after it")
            old = _header_path(current[4:], "a/", number)
            new = _header_path(lines[i + 1][4:], "b/", number + 1)
            if old is None and new is None:
                raise PatchError(number, "both sides are /dev/null")
            if old is not None and new is not None and old != new:
                raise PatchError(number, f"renames {old!r} to {new!r} (a rename is not supported)")
            patch = FilePatch(number, old, new)
            if patch.path in seen:
                raise PatchError(number, f"{patch.path!r} is patched twice")
            seen.add(patch.path)
            i = _read_hunks(lines, i + 2, patch)
            patches.append(patch)
            continue
        if current.startswith(REFUSED_HEADERS):
            raise PatchError(number, f"{current!r}: only text changes are supported")
        if current.startswith(GIT_HEADERS) or not current.strip():
            i += 1
            continue
        raise PatchError(number, f"{current[:60]!r} is not a line of a unified diff")
    if not patches:
        raise PatchError(0, "changes no file (an empty patch)")
    return patches


def _read_hunks(lines: list[str], i: int, patch: FilePatch) -> int:
    while i < len(lines) and lines[i].startswith("@@"):
        number = i + 1
        match = HUNK.match(lines[i])
        if not match:
            raise PatchError(number, f"{lines[i]!r} is not a hunk header '@@ -l,n +l,n @@'")
        old_start, old_count, new_start, new_count = (
            int(g) if g is not None else 1 for g in match.groups()
        )
        hunk = Hunk(number, old_start, old_count, new_start, new_count)
        i += 1
        olds = news = 0
        while olds < old_count or news < new_count:
            if i >= len(lines):
                raise PatchError(number, f"hunk {hunk.header} ends before its last line")
            body = lines[i]
            kind, rest = body[:1], body[1:]
            if body == "":  # some editors strip the space of an empty context line
                kind, rest = " ", ""
            if kind not in (" ", "-", "+"):
                raise PatchError(
                    i + 1, f"hunk {hunk.header} has {olds}+{news} of its lines, then {body[:60]!r}"
                )
            newline = not (i + 1 < len(lines) and lines[i + 1].startswith("\\"))
            if kind in (" ", "-"):
                hunk.old.append((rest, newline))
                olds += 1
            if kind in (" ", "+"):
                hunk.new.append((rest, newline))
                news += 1
            i += 2 if not newline else 1
        if olds != old_count or news != new_count:
            raise PatchError(number, f"hunk {hunk.header} has {olds} old and {news} new lines")
        patch.hunks.append(hunk)
    if not patch.hunks and patch.old_path is not None and patch.new_path is not None:
        raise PatchError(patch.line, f"{patch.path!r} has no hunk")
    return i  # a created or deleted file without hunks is an empty one


def _apply_file(original: list[Line], patch: FilePatch) -> list[Line]:
    result: list[Line] = []
    at = 0  # index into original: everything before it is already in result
    shift = 0
    for hunk in patch.hunks:
        start = hunk.old_start - 1 if hunk.old_count else hunk.old_start
        where = f"hunk {hunk.header} (patch line {hunk.line}) of {patch.path}"
        if start < at:
            raise PatchError(hunk.line, f"{where} overlaps the hunk before it")
        expected_new = hunk.new_start - 1 if hunk.new_count else hunk.new_start
        if start + shift != expected_new:
            raise PatchError(hunk.line, f"{where}: its new line number disagrees with the old one")
        if start + len(hunk.old) > len(original):
            raise PatchError(
                hunk.line,
                f"{where} does not apply: solution/{patch.path} has {len(original)} lines, "
                f"the hunk needs lines {start + 1}..{start + len(hunk.old)}",
            )
        for offset, wanted in enumerate(hunk.old):
            found = original[start + offset]
            if found != wanted:
                raise PatchError(
                    hunk.line + 1 + offset,
                    f"{where} does not apply at line {start + offset + 1} of "
                    f"solution/{patch.path}: the solution has {_show(found)}, "
                    f"the patch expects {_show(wanted)} (stale: refresh the mutant)",
                )
        result.extend(original[at:start])
        result.extend(hunk.new)
        at = start + len(hunk.old)
        shift += len(hunk.new) - len(hunk.old)
    result.extend(original[at:])
    return result


def _show(line: Line) -> str:
    text, newline = line
    return repr(text) + ("" if newline else " (no newline at end of file)")


def apply_patch(files: Mapping[str, bytes], text: str) -> Files:
    """`files` with the patch applied (a new mapping); PatchError when any part of it does
    not apply exactly."""
    out = dict(files)
    for patch in parse_patch(text):
        if patch.old_path is None:
            if patch.path in out:
                raise PatchError(patch.line, f"creates {patch.path}, which solution/ already has")
            original: list[Line] = []
        else:
            if patch.path not in out:
                raise PatchError(patch.line, f"{patch.path} is not a file of solution/")
            try:
                original = _split(out[patch.path].decode("utf-8"))
            except UnicodeDecodeError:
                raise PatchError(patch.line, f"solution/{patch.path} is not UTF-8 text") from None
        changed = _apply_file(original, patch)
        if patch.new_path is None:
            if changed:
                raise PatchError(
                    patch.line,
                    f"deletes {patch.path} but leaves {len(changed)} of its lines "
                    "(a deletion removes every line)",
                )
            del out[patch.path]
        else:
            out[patch.path] = _join(changed).encode("utf-8")
    return out


def _range(start: int, stop: int) -> str:
    length = stop - start
    first = start + 1 if length else start
    return f"{first},{length}"


def _body(lines: list[Line], prefix: str) -> list[str]:
    out: list[str] = []
    for text, newline in lines:
        out.append(prefix + text)
        if not newline:
            out.append(NO_NEWLINE)
    return out


def make_patch(solution: Mapping[str, bytes], edited: Mapping[str, bytes]) -> str:
    """The patch that turns `solution` into `edited` (git's format: `git apply` takes it
    too); "" when they are the same."""
    out: list[str] = []
    for path in sorted(set(solution) | set(edited)):
        old_bytes, new_bytes = solution.get(path), edited.get(path)
        if old_bytes == new_bytes:
            continue
        _safe_path(path, 0)
        try:
            old = _split(old_bytes.decode("utf-8")) if old_bytes is not None else []
            new = _split(new_bytes.decode("utf-8")) if new_bytes is not None else []
        except UnicodeDecodeError:
            raise PatchError(0, f"{path} is not UTF-8 text") from None
        out.append(f"diff --git a/{path} b/{path}")
        if old_bytes is None:
            out.append("new file mode 100644")
        if new_bytes is None:
            out.append("deleted file mode 100644")
        out.append(f"--- a/{path}" if old_bytes is not None else f"--- {DEV_NULL}")
        out.append(f"+++ b/{path}" if new_bytes is not None else f"+++ {DEV_NULL}")
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        for group in matcher.get_grouped_opcodes(CONTEXT) if old or new else ():
            first, last = group[0], group[-1]
            out.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@")
            for tag, i1, i2, j1, j2 in group:
                if tag == "equal":
                    out.extend(_body(old[i1:i2], " "))
                    continue
                out.extend(_body(old[i1:i2], "-"))
                out.extend(_body(new[j1:j2], "+"))
    return "\n".join(out) + "\n" if out else ""
