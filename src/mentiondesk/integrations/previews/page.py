"""The title and description of an HTML page, for a link preview. Tokenizing only."""

from __future__ import annotations

import codecs
import unicodedata
from html.parser import HTMLParser

from .constants import MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def page_summary(body: bytes, *, charset: str | None) -> tuple[str, str]:
    """`(title, description)` of the HTML page `body`, each "" when absent: `og:title`, else
    `twitter:title`, else `<title>`; `og:description`, else `twitter:description`, else the
    `description` meta tag. One line each, cleaned (see `_clean`). Never raises: what the
    parser found before hostile markup stopped it is kept."""
    parser = _HeadParser()
    try:
        parser.feed(body.decode(_charset(charset), errors="replace"))
        parser.close()
    except Exception:  # noqa: S110 (html.parser on hostile input: keep what it found so far)
        pass
    title = (
        parser.meta.get("og:title")
        or parser.meta.get("twitter:title")
        or "".join(parser.title_parts)
    )
    description = (
        parser.meta.get("og:description")
        or parser.meta.get("twitter:description")
        or parser.meta.get("description", "")
    )
    return _clean(title, MAX_TITLE_CHARS), _clean(description, MAX_DESCRIPTION_CHARS)


class _HeadParser(HTMLParser):
    """Collects the first `<title>` and the title/description meta tags of a page's head.

    Only tokenizes: script and style content is skipped as text, nothing is run or loaded.
    Stops looking at `</head>` or `<body>`, and ignores `<title>` inside inline SVG."""

    META_NAMES = frozenset(
        {"og:title", "og:description", "twitter:title", "twitter:description", "description"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title_parts: list[str] = []
        self.meta: dict[str, str] = {}
        self._in_title = False
        self._has_title = False
        self._svg_depth = 0
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._done:
            return
        if tag == "body":
            self._done = True
        elif tag == "svg":
            self._svg_depth += 1
        elif tag == "title" and not self._svg_depth and not self._has_title:
            self._in_title = True
        elif tag == "meta":
            values = {name: value for name, value in attrs if value is not None}
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key in self.META_NAMES and "content" in values:
                self.meta.setdefault(key, values["content"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self._done = True
        elif tag == "svg" and self._svg_depth:
            self._svg_depth -= 1
        elif tag == "title" and self._in_title:
            self._in_title = False
            self._has_title = True

    def handle_data(self, data: str) -> None:
        if self._in_title and not self._done:
            self.title_parts.append(data)


def _charset(declared: str | None) -> str:
    """The Content-Type's charset if Python knows it, else UTF-8 (undecodable bytes become
    U+FFFD: a preview needs no more than that)."""
    if declared:
        try:
            return codecs.lookup(declared).name
        except LookupError:
            pass
    return "utf-8"


def _clean(text: str, max_chars: int) -> str:
    """One line of plain text: whitespace collapsed, control and bidi-override characters
    dropped (they could make a title read as another domain), at most `max_chars`."""
    line = "".join(
        ch
        for ch in " ".join(text.split())
        if ch not in _BIDI_CONTROLS and unicodedata.category(ch) != "Cc"
    )
    return line if len(line) <= max_chars else line[: max_chars - 1].rstrip() + "…"
