"""Exercise text (task bodies, the PM script) as HTML: CommonMark plus tables, sanitised.

Only the exercise author's text goes through here. Candidate code, chat and
names are never Markdown: the pages show them with textContent.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

# Raw HTML in the source stays text (html=False), and nh3 cleans what the parser
# made anyway: an exercise folder is data, and a bad one must not script the room.
_PARSER = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6",
    "ul", "ol", "li", "blockquote", "pre", "code", "em", "strong", "del", "a",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}


@lru_cache(maxsize=512)
def markdown_html(source: str) -> str:
    """Sanitised HTML for a piece of exercise Markdown (cached: exercise texts repeat)."""
    html = _PARSER.render(source or "")
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        filter_style_properties={"text-align"},
    )
