"""A step's description, written in Markdown by a flow or a person, as safe HTML for the pages.

Rendered by markdown-it-py (CommonMark, with GitHub's tables and strikethrough):

* raw HTML is off: ``<b>`` or ``<script>`` in the text shows as typed, escaped;
* a link becomes an anchor only when it passes the input rule for links (http, https, mailto:
  ``is_acceptable_link``) or points inside mktflow (``/work/12``); anything else
  (``javascript:``, ``data:``, ``//elsewhere``) stays text. Anchors get
  ``rel="noopener noreferrer"``;
* images are not fetched: ``![alt](url)`` shows as a link to the image (if the link is safe);
* headings move down two levels (``#`` becomes ``<h3>``), under the page's own ``<h1>`` and
  ``<h2>`` sections;
* tables sit in a ``<div class="scroll">`` so a wide one scrolls instead of widening the page;
  the box is a named region in the tab order, so a keyboard scrolls it too (as
  ``scroll_box`` in the templates).

Line breaks inside a paragraph are kept by the style sheet (``white-space: pre-line``), as a
description typed without Markdown always showed.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape

from mktflow.domain.inputs import is_acceptable_link

__all__ = ["markdown", "safe_link"]

#: How many levels a description's headings move down (``#`` -> ``<h3>``).
_HEADING_SHIFT = 2


def safe_link(url: str) -> bool:
    """Whether ``url`` may become an anchor: an http, https or mailto link that passes the input
    rule for links, or a path inside mktflow (``/work/12``, never ``//host``)."""
    text = url.strip()
    if text.startswith("/") and not text.startswith("//") and "\\" not in text:
        return all(c.isprintable() and not c.isspace() for c in text)
    return is_acceptable_link(text)


def _heading_open(tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    level = min(int(tokens[idx].tag[1:]) + _HEADING_SHIFT, 6)
    return f"<h{level}>"


def _heading_close(tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    level = min(int(tokens[idx].tag[1:]) + _HEADING_SHIFT, 6)
    return f"</h{level}>\n"


def _link_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    tokens[idx].attrSet("rel", "noopener noreferrer")
    return str(self.renderToken(tokens, idx, options, env))


def _image(tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    alt = "".join(child.content for child in token.children or []) or "image"
    src = str(token.attrGet("src") or "")
    if not safe_link(src):
        return str(escape(alt))
    return str(Markup('<a href="{}" rel="noopener noreferrer">{}</a>').format(src, alt))


def _table_open(tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return '<div class="scroll" role="region" tabindex="0" aria-label="Table"><table>\n'


def _table_close(tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return "</table></div>\n"


def _plain(rule: Any) -> Any:
    """A render rule that does not need the renderer (``add_render_rule`` passes it first)."""
    return lambda _self, tokens, idx, options, env: rule(tokens, idx, options, env)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = safe_link  # type: ignore[method-assign]
    for name, rule in (("heading_open", _heading_open), ("heading_close", _heading_close),
                       ("image", _image), ("table_open", _table_open),
                       ("table_close", _table_close)):
        md.add_render_rule(name, _plain(rule))
    md.add_render_rule("link_open", _link_open)
    return md


def markdown(text: str | None) -> Markup:
    """``text`` (Markdown) as HTML that is safe to put in a page: see the module's docstring.
    Empty for no text."""
    source = str(text or "").replace("\r\n", "\n")
    if not source.strip():
        return Markup("")
    return Markup(_parser().render(source))
