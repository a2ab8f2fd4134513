"""Bluesky's rules for a post's text and record key, and the web page of a post: pure
functions without the atproto SDK (`client`, the connector, uses them too), so the desk can
count a reply or link a post without loading the SDK."""

from __future__ import annotations

from datetime import UTC, datetime

from mentiondesk.channels.length import graphemes

# app.bsky.feed.post#text: maxGraphemes 300 (and maxLength 3000 bytes).
TEXT_LIMIT_GRAPHEMES = 300
TEXT_LIMIT_BYTES = 3000
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def text_graphemes(text: str) -> int:
    """User-perceived characters (UAX #29 extended grapheme clusters), as Bluesky counts them:
    an emoji family or a letter with its accent is one."""
    return graphemes(text)


def text_problem(text: str) -> str | None:
    """Why Bluesky would refuse `text` as a post's text, or None."""
    graphemes = text_graphemes(text)
    if graphemes > TEXT_LIMIT_GRAPHEMES:
        return f"{graphemes} characters: Bluesky posts hold at most {TEXT_LIMIT_GRAPHEMES}"
    if len(text.encode()) > TEXT_LIMIT_BYTES:
        return f"{len(text.encode())} bytes of UTF-8: Bluesky posts hold at most {TEXT_LIMIT_BYTES}"
    return None


def rkey_for(*, created_at: datetime, seed: int) -> str:
    """A record key for one reply, stable across its retries: a TID (13 characters of
    base32-sortable: 53 bits of microseconds since the epoch, then 10 bits of clock id) made
    from the reply's own creation time and `seed` (its id), so every send of the same reply
    names the same record and a repeated createRecord collides instead of posting again."""
    micros = int(created_at.astimezone(UTC).timestamp() * 1_000_000)
    value = ((micros & ((1 << 53) - 1)) << 10) | (seed % 1024)
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def post_url(uri: str, *, handle: str | None = None, web_url: str = "https://bsky.app") -> str:
    """The page of the post `uri` on the Bluesky web app at `web_url` (by handle when known,
    else by DID)."""
    authority, _, rkey = uri_parts(uri)
    return f"{web_url}/profile/{handle or authority}/post/{rkey}"


def uri_parts(uri: str) -> tuple[str, str, str]:
    """(authority, collection, rkey) of an at:// URI; empty strings where missing."""
    if not uri.startswith("at://"):
        return "", "", ""
    parts = uri[len("at://") :].split("/")
    parts += [""] * (3 - len(parts))
    return parts[0], parts[1], parts[2]
