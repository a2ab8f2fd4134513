"""Reading a Bluesky account's posts: a repo export (a CAR file, the answer of
`com.atproto.sync.getRepo`, as `goat repo export` or Settings > Export my data write it) or its
post records as JSON (the answers of `com.atproto.repo.listRecords` for app.bsky.feed.post: one
page, pages one after another or in an array, or JSON Lines of pages).

Every post is ours (the repo is the handle's): stored under its at:// URI, threaded by
`reply.parent` and in the conversation of `reply.root`, as the Bluesky connector stores posts.
A repo's other records (likes, reposts, follows, the profile) are skipped and counted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from mentiondesk.channels.connectors.base import RemotePost
from mentiondesk.channels.connectors.bluesky.parse import post_from_record, repo_read
from mentiondesk.channels.connectors.bluesky.rules import uri_parts

from .jsonstream import MAX_VALUE_BYTES, Value
from .posts import post_row
from .records import Item, Ours, Problem, Skip, Unreadable

POST = "app.bsky.feed.post"
OTHER_RECORDS = "repo records that are not posts (likes, reposts, follows, profile)"


class _Repo:
    """The repo being read: its DID, the handle's when known, else the first one seen."""

    def __init__(self, ours: Ours) -> None:
        self.ours = ours
        self.did = ours.remote_id

    def post(self, *, line: int, uri: Any, cid: Any, record: Any) -> Item:
        raw = {"uri": uri, "cid": cid, "record": record}
        if not isinstance(uri, str) or not uri.startswith("at://") or not isinstance(cid, str):
            return Problem(line, "a record without an at:// uri and a cid", raw)
        did, collection, _ = uri_parts(uri)
        if collection != POST:
            return Skip(OTHER_RECORDS)
        self.did = self.did or did
        if did != self.did:
            return Problem(line, f"post {uri}: not in the repo of @{self.ours.username}", raw)
        raw["author"] = {"did": did, "handle": self.ours.username}
        post = post_from_record(
            uri=uri,
            cid=cid,
            author_did=did,
            author_handle=self.ours.username,
            record=record,
            indexed_at=None,
            raw=raw,
        )
        if not isinstance(post, RemotePost):
            return Problem(line, post.reason, raw)
        return post_row(
            post,
            line=line,
            ours=self.ours,
            parent=post.in_reply_to_id,
            conversation=post.conversation_id,
        )


def car_rows(binary: IO[bytes], *, ours: Ours) -> Iterator[Item]:
    """Every record of a repo CAR export, in key order (the `line` of a record is its place).

    The CAR is read whole (its blocks link each other in any order), so a file over
    MAX_VALUE_BYTES is refused: a Bluesky repo is tens of megabytes."""
    data = binary.read(MAX_VALUE_BYTES + 1)
    if len(data) > MAX_VALUE_BYTES:
        raise Unreadable(f"a CAR over {MAX_VALUE_BYTES // 2**20} MB is not a Bluesky repo export")
    try:
        did, records = repo_read(data)
    except ValueError as exc:
        raise Unreadable(f"not a Bluesky repo export: {exc}") from exc
    del data
    if ours.remote_id and did != ours.remote_id:
        raise Unreadable(f"the repo of {did}, not of @{ours.username} ({ours.remote_id})")
    repo = _Repo(ours)
    place = 0
    try:
        for place, (key, cid, record) in enumerate(records, 1):
            if record is None:
                yield Problem(place, f"record {key}: its block is not in the CAR", None)
                continue
            yield repo.post(line=place, uri=f"at://{did}/{key}", cid=cid, record=record)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        yield Problem(place + 1, f"the repo's records tree is broken from here: {exc}", None)


def record_rows(values: Iterator[Value], *, ours: Ours) -> Iterator[Item]:
    """Every record of listRecords pages ({"records": [{uri, cid, value}], "cursor"}), of an
    array of them, or bare records."""
    repo = _Repo(ours)
    for item in values:
        if isinstance(item, Problem):
            yield item
            continue
        line, value = item
        if isinstance(value, dict) and "value" in value and "uri" in value:
            value = {"records": [value]}
        records = value.get("records") if isinstance(value, dict) else None
        if not isinstance(records, list):
            yield Problem(line, "neither a listRecords page (records) nor a record", value)
            continue
        for record in records:
            if not isinstance(record, dict):
                yield Problem(line, "a record that is not an object", record)
                continue
            yield repo.post(
                line=line, uri=record.get("uri"), cid=record.get("cid"), record=record.get("value")
            )
