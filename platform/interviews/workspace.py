"""The candidate's workspace: its limits, its reads, and who hears that it changed.

One module, so the room (web), grading's snapshots and the live preview agree
on what a workspace may hold. The preview (a layer above) listens to `changed`
instead of being imported by the writers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.dispatch import Signal

from interviews.models import Interview

# Limits on what a candidate can keep in their workspace.
MAX_FILES = 200
MAX_FILE_BYTES = 256 * 1024
MAX_TOTAL_BYTES = 4 * 1024 * 1024

# Sent once a write to an interview's files commits, with interview_id.
changed = Signal()


class WorkspaceLimitError(ValueError):
    """A workspace change would break a size or count limit; the message says which."""


def workspace_changed(interview_id: int) -> None:
    """Tell the listeners (the live preview restarts the app) once this transaction commits."""
    transaction.on_commit(lambda: changed.send(sender=Interview, interview_id=interview_id))


def workspace_files(interview: Interview) -> dict[str, str]:
    return dict(interview.files.values_list("path", "content"))


def workspace_limits() -> dict[str, Any]:
    return {
        "max_files": MAX_FILES,
        "max_file_bytes": MAX_FILE_BYTES,
        "max_total_bytes": MAX_TOTAL_BYTES,
    }


def workspace_check(files: Mapping[str, str]) -> None:
    """Raise WorkspaceLimitError naming the limit a set of files breaks."""
    if len(files) > MAX_FILES:
        raise WorkspaceLimitError(f"too many files: {len(files)} (the limit is {MAX_FILES})")
    total = 0
    for path, content in files.items():
        size = len(content.encode())
        if size > MAX_FILE_BYTES:
            raise WorkspaceLimitError(
                f"{path} is {size // 1024} KB (the limit is {MAX_FILE_BYTES // 1024} KB per file)"
            )
        total += size
    if total > MAX_TOTAL_BYTES:
        raise WorkspaceLimitError(
            f"the files total {total // 1024} KB (the limit is {MAX_TOTAL_BYTES // 1024} KB)"
        )
