"""Django's `{# … #}` comment ends at the line's end: one spread over lines is printed on the
page as text (the queue showed the bulk bar's). Longer comments use {% comment %}."""

from __future__ import annotations

import re
from pathlib import Path

import mentiondesk

SRC = Path(mentiondesk.__file__).parent
OPEN_COMMENT = re.compile(r"\{#(?!.*?#\})")


def test_no_template_spreads_a_short_comment_over_lines() -> None:
    found = [
        f"{path.relative_to(SRC)}:{number}"
        for path in sorted(SRC.rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if OPEN_COMMENT.search(line)
    ]
    assert found == []
