"""What every reader yields, whatever the network: `Row` (one post, in the shape of the staging
table), `Problem` (a record that cannot be used, kept whole), `Skip` (a record that is not a post
of ours and is only counted, such as a boost), and who "we" are (`Ours`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any, NamedTuple

from mentiondesk.channels.connectors.base import RemotePost

# A raw item as the staging table keeps it (non-ASCII as written); built once.
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


class Unreadable(Exception):
    """The file as a whole cannot be read: nothing was imported."""


class Row(NamedTuple):
    """One post as staged: the column order of the staging table (see `staging.py`)."""

    # X ids are 64-bit snowflakes: integers make the staging lookups cheap. Mastodon status
    # ids and Bluesky at:// URIs are staged as text (`sql.Dialect.rid`).
    remote_id: int | str
    line: int
    parent: int | str | None  # the post this one replies to
    conversation: str | None  # the network's conversation id when the file gives it
    author_id: str
    author_username: str
    direction: str  # "in", "out" (one of our handles) or "x" (another brand's reply)
    handle_id: int | None  # ours: the handle that wrote it
    involves: int  # 1: written by the imported handle, or mentions it, or replies to it
    created_at: str  # UTC, "YYYY-MM-DD HH:MM:SS[.ffffff]"
    text: str
    mentions: str  # JSON list of usernames
    urls: str  # JSON list of {"url", "expanded_url", "display_url"}
    raw: str | None  # JSON: the item as read; None for a CSV row, rebuilt from the columns
    # The CSV fields the columns above do not keep as written (None for X pages); the row's
    # raw JSON is built from them by the database, which is cheaper than in Python.
    csv_inbound: str | None
    csv_created_at: str | None
    csv_responses: str | None


@dataclass(frozen=True)
class Problem:
    """A row that cannot be used: where, why, and what it was."""

    line: int
    reason: str
    raw: Any


@dataclass(frozen=True)
class Skip:
    """A record that is no post to import (a boost, a like in a repo): counted by `what`."""

    what: str


@dataclass(frozen=True)
class Ours:
    """Who "we" are for this import: every handle of ours, and the one being imported."""

    handle_id: int
    username: str  # lowercase
    remote_id: str
    by_username: dict[str, int]  # lowercase username -> handle id, all our handles
    by_remote_id: dict[str, int]
    base_url: str = ""  # the handle's Mastodon instance or Bluesky service

    def row(
        self,
        post: RemotePost,
        *,
        line: int,
        remote_id: int | str,
        parent: int | str | None,
        conversation: str | None,
        author_username: str,
    ) -> Row:
        """`post` as a staged Row, ids as the reader stages them: ours (outbound) when one of
        our handles wrote it; involving the imported handle when it wrote it, answers it or
        names it."""
        handle_id = self.by_remote_id.get(post.author_id) or self.by_username.get(
            post.author_username.lower()
        )
        involves = (
            post.author_username.lower() == self.username
            or (
                bool(self.remote_id)
                and self.remote_id in (post.author_id, post.in_reply_to_user_id)
            )
            or any(m.lower() == self.username for m in post.mentions)
        )
        return Row(
            remote_id,
            line,
            parent,
            conversation,
            post.author_id,
            author_username,
            "out" if handle_id is not None else "in",
            handle_id,
            int(involves),
            str(post.created_at.astimezone(UTC).replace(tzinfo=None)),
            post.text,
            json.dumps(list(post.mentions)),
            json.dumps(list(post.urls)),
            _ENCODE(post.raw),
            None,
            None,
            None,
        )


Item = Row | Problem | Skip
