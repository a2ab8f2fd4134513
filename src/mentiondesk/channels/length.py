"""How each network counts a post's length (`connectors.NETWORKS` says which counter and limit
apply). X (twitter-text v3 "weighted length"): every link counts as 23 characters (t.co), code
points in the Latin and common punctuation ranges count 1, everything else (CJK, emoji) counts
2, against a limit of 280. Mastodon and Bluesky count graphemes (below)."""

from __future__ import annotations

import re

import regex

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


# Mastodon (StatusLengthValidator): grapheme clusters, every URL counts as
# `characters_reserved_per_url` (23), and a remote mention "@user@domain" as "@user" only.
_REMOTE_MENTION = re.compile(r"(?<![\w@])(@[A-Za-z0-9_]+)@[A-Za-z0-9.-]+[A-Za-z0-9]")


def graphemes(text: str) -> int:
    """User-perceived characters (UAX #29 extended grapheme clusters): an emoji family or a
    letter with its accent is one, as Mastodon and Bluesky count them."""
    return len(regex.findall(r"\X", text))


def mastodon_length(text: str) -> int:
    """The length a Mastodon instance will count for `text`."""
    links = len(_URL.findall(text))
    rest = _REMOTE_MENTION.sub(r"\1", _URL.sub("", text))
    return graphemes(rest) + links * URL_WEIGHT
