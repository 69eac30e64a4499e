"""The replay plays the terminal back with the edits: its screen at each moment of the
scrubber, escape sequences taken out, and the recording's cut-off marker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.urls import reverse

from interviews.models import TimelineEvent
from review import replay
from tests.web.conftest import client_for


def screen(page: str) -> str:
    return page.split('data-testid="replay-terminal"')[1].split(">", 1)[1].split("</pre>")[0]


def test_the_replay_shows_the_terminal_at_each_moment(
    personas: dict[str, Any], make_graded: Any, db: Any
) -> None:
    interview = make_graded("Terry Terminal")
    last = interview.events.order_by("at").last()
    assert last is not None

    def terminal(minutes: float, **data: Any) -> None:
        TimelineEvent.objects.create(
            interview=interview, at=last.at + timedelta(minutes=minutes), kind="terminal",
            actor="terminal", data=data,
        )  # fmt: skip

    shown = '\x1b[?2004l\rpython -c "print(6*7)"\r\n42\r\n\x1b[01;32m$\x1b[0m '
    terminal(1, frames=[[0, "i", 'python -c "print(6*7)"\r'], [5, "o", shown]])
    terminal(2, frames=[[0, "j", "echo pm\r", "ivy"], [3, "o", "echo pm\r\npm\r\n$ "]])
    terminal(3, frames=[], cut="The terminal's recording stops here.")
    positions = interview.events.count()
    url = reverse("review:replay", args=[interview.pk])
    manager = client_for(personas["hiring_manager"])

    before = manager.get(url, {"at": str(positions - 3)}).content.decode()
    assert screen(before) == ""
    first = manager.get(url, {"at": str(positions - 2)}).content.decode()
    assert screen(first).endswith("python -c &quot;print(6*7)&quot;\n42\n$ ")
    assert "\x1b" not in screen(first) and "pm\n" not in screen(first)
    assert "typed in the terminal" in first and "print(6*7)" in first
    end = manager.get(url).content.decode()
    assert "pm\n$ " in screen(end)
    assert "[The terminal&#x27;s recording stops here.]" in screen(end)
    assert "terminal recording cut off" in end


def test_backspaces_and_carriage_returns_are_applied() -> None:
    assert replay.terminal_plain("ab\b \bc\r\n\x1b]0;title\x07d") == "ac\nd"
