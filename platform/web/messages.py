"""The websocket messages the room's server sends, written down once.

Every frame a consumer sends is a JSON object whose "type" is one of these.
Timeline and progress events travel inside an "event" message (their kinds are
interviews.models.TimelineEvent.Kind and grading.progress's). A reply to a
request carries its "seq". tests/web/test_messages.py checks that each
consumer in web/consumers.py sends only the kinds declared for it here.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class Error(TypedDict):
    type: Literal["error"]
    code: str
    message: str
    seq: NotRequired[int]
    path: NotRequired[str]  # a refused edit names its file


class Ok(TypedDict):
    type: Literal["ok"]
    seq: NotRequired[int]


class Pong(TypedDict):
    type: Literal["pong"]
    seq: NotRequired[int]


class State(TypedDict):
    """The room as this audience may see it (web.selectors.room_state), with the role."""

    type: Literal["state"]
    role: Literal["candidate", "staff"]


class Event(TypedDict):
    """A timeline or progress event, shaped for this audience."""

    type: Literal["event"]
    event: dict[str, Any]


class Displaced(TypedDict):
    """The interview was opened in another browser; the socket closes next."""

    type: Literal["displaced"]
    message: str


# The candidate's replies to their own requests.
CandidateReply = Literal["saved", "conflict", "created", "deleted", "run_requested", "submitted"]
# The console's replies to the interviewer's requests.
ConsoleReply = Literal["rated", "regrade_requested"]


class TermState(TypedDict):
    """The terminal as a viewer who opens it finds it: the recent output (`history`),
    the output offset it ends at (drop `terminal_output` events ending at or before it),
    whether a shell runs, and whether this socket may type."""

    type: Literal["term_state"]
    running: bool
    history: str
    end: int
    typing: list[str]
    may_type: bool
    seq: NotRequired[int]


ROOM_KINDS = frozenset({"error", "ok", "pong", "state", "event", "displaced", "term_state"})
CANDIDATE_KINDS = ROOM_KINDS | {
    "saved",
    "conflict",
    "created",
    "deleted",
    "run_requested",
    "submitted",
}
CONSOLE_KINDS = ROOM_KINDS | {"rated", "regrade_requested"}

# Which kinds each consumer may send (by class name in web/consumers.py).
KINDS_BY_CONSUMER = {
    "RoomConsumer": ROOM_KINDS,
    "CandidateConsumer": CANDIDATE_KINDS,
    "ConsoleConsumer": CONSOLE_KINDS,
}
