"""Text that PostgreSQL can store.

PostgreSQL's text and jsonb columns refuse the NUL character, and psycopg
refuses lone UTF-16 surrogates (which JSON's "\\ud800" escapes can produce). SQLite
takes both, so the failure shows only in production, and then a single such
character fails the whole write: a candidate's app that prints one NUL would
have turned its grading into an infrastructure error. What the platform stores
from candidate code (sandbox output, test reports) is made storable here;
what people send (edits, chat) is refused with a reason instead.
"""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(value: Any) -> Any:
    """JSON `value` with each NUL and lone surrogate in its strings (keys too) made U+FFFD."""
    if isinstance(value, str):
        return _UNSTORABLE.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


def is_storable(value: Any) -> bool:
    """Whether every string in `value` (keys too) can be stored as it is."""
    # A JSON message's whole value: cleaning it changes it exactly when something is unstorable.
    return bool(storable(value) == value)
