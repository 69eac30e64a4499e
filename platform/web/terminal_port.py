"""What the room's sockets need of the interview's terminal, which a higher layer provides.

The terminal lives with the live session (preview/terminal.py), above this app; the
preview app plugs itself in here when Django starts (preview/apps.py), so the room's
socket carries the terminal without web importing preview.
"""

from __future__ import annotations

from typing import Any, Protocol

from web.services import RoomError


class TerminalUnavailable(RoomError):
    """No terminal can be had: the message says why, for the person who asked."""


class Terminals(Protocol):
    def hub(self, interview_id: int) -> Any:
        """The interview's hub (made on first use): open, snapshot, write, resize..."""
        ...

    def existing(self, interview_id: int) -> Any | None: ...


provider: Terminals | None = None


def terminals() -> Terminals:
    if provider is None:
        raise TerminalUnavailable("This server has no terminal.")
    return provider
