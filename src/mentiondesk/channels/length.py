"""How X counts a post's length (twitter-text v3 "weighted length"): every link counts as 23
characters (t.co), code points in the Latin and common punctuation ranges count 1, everything
else (CJK, emoji) counts 2, against a limit of 280."""

from __future__ import annotations

import re

X_MAX_WEIGHT = 280
URL_WEIGHT = 23
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
# twitter-text v3 config: ranges weighted 100 (one character); the default weight is 200.
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))


def x_length(text: str) -> int:
    """The length X will count for `text`."""
    links = len(_URL.findall(text))
    rest = _URL.sub("", text)
    weight = sum(1 if any(lo <= ord(ch) <= hi for lo, hi in _LIGHT) else 2 for ch in rest)
    return weight + links * URL_WEIGHT


def x_has_link(text: str) -> bool:
    """Whether `text` carries a link, as `x_length` finds them: X bills such a post as
    "Content: Create (with URL)", many times a plain one."""
    return _URL.search(text) is not None
