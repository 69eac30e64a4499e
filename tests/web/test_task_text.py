"""Task and PM text reach the room and console as sanitised HTML from a real Markdown parser."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import pytest

from exercises import catalog
from interviews.exercise_markdown import markdown_html
from interviews.models import Exercise
from web import selectors

LIST_ITEM = re.compile(r"^(\s*)(?:[-*]|\d+\.)\s+")


class _Items(HTMLParser):
    """The text of every <li>, nested ones included in their parent's."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[list[str]] = []
        self.items: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "li":
            self.open.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag == "li" and self.open:
            text = " ".join("".join(self.open.pop()).split())
            self.items.append(text)
            if self.open:
                self.open[-1].append(" " + text + " ")

    def handle_data(self, data: str) -> None:
        if self.open:
            self.open[-1].append(data)


def list_items(html: str) -> list[str]:
    parser = _Items()
    parser.feed(html)
    return parser.items


def wrapped_items(source: str) -> list[str]:
    """The last line of each list item that wraps onto more lines, as plain words."""
    found, lines, fenced = [], source.split("\n"), False
    for i, line in enumerate(lines):
        fenced = fenced != line.startswith("```")
        marker = LIST_ITEM.match(line)
        if fenced or not marker:
            continue
        indent, last = len(marker.group(1)) + 2, None
        for follow in lines[i + 1 :]:
            if not follow.strip() or LIST_ITEM.match(follow) or not follow.startswith(" " * indent):
                break
            last = follow
        if last is not None:
            found.append(" ".join(re.sub(r"[`*]", "", last).split()))
    return found


@pytest.mark.parametrize("exercise", catalog.load_all(), ids=lambda e: e.slug)
def test_wrapped_list_items_stay_inside_their_list_item(exercise: catalog.Exercise) -> None:
    checked = 0
    for task in exercise.tasks:
        items = [unescape(i) for i in list_items(markdown_html(task.body))]
        for tail in wrapped_items(task.body):
            assert any(tail in item for item in items), (task.id, tail, items)
            checked += 1
    if exercise.slug != "add-metadata":
        assert checked, "the exercise was expected to have wrapped list items"


def test_the_sync_to_streaming_token_item_keeps_its_second_line() -> None:
    stream = catalog.find("sync-to-streaming").tasks[0]
    html = markdown_html("- `token`: the next piece.\n  Joining every `text` gives the answer.")
    assert list_items(html) == ["token: the next piece. Joining every text gives the answer."]
    assert "</ul>" in markdown_html(stream.body)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="https://e.com" onclick="x()">e</a>',
        "`<b>code</b>`",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
    ],
)
def test_markup_in_exercise_text_never_becomes_live_html(source: str) -> None:
    parser = _Tags()
    parser.feed(markdown_html(source))
    for tag, attrs in parser.tags:
        assert tag in {"p", "code", "a"}, tag
        assert not any(name.startswith("on") for name in attrs), attrs
        assert (attrs.get("href") or "https:").startswith("https:"), attrs


def test_links_tables_and_code_survive() -> None:
    html = markdown_html("[docs](https://example.com)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n`x`")
    assert '<a href="https://example.com"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert "<table>" in html and "<td>1</td>" in html and "<code>x</code>" in html


def test_room_and_console_receive_the_rendered_text(exercise: Exercise) -> None:
    # A new manifest, not an edit in place: the fixture's dict is shared by every test.
    first, *rest = exercise.manifest["tasks"]
    body = "Do:\n\n- one\n  more\n\n<script>x()</script>"
    exercise.manifest = {**exercise.manifest, "tasks": [{**first, "body": body}, *rest]}
    exercise.save()
    script = selectors.pm_script(exercise)
    assert script["intro_html"] == "<p>You are the PM.</p>\n"
    assert script["tasks"][0]["script"][1]["items_html"] == ["<p>Look at llm.py</p>\n"]
    view = script["tasks"][0]
    assert list_items(view["body_html"]) == ["one more"] and "<script" not in view["body_html"]
