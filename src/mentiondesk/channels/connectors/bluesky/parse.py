"""Reading Bluesky's answers: post records, notifications and post views, each parsed with the
`atproto` SDK's lexicon models (`atproto_client.models`), so a payload that breaks the lexicon
becomes a PayloadProblem; the mentions checkpoint; and a repo export (CAR) walked to its records."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any, TypeVar

import libipld
from atproto_client import models
from atproto_client.exceptions import ModelError
from atproto_client.models.utils import get_or_create
from atproto_core.car import CAR
from atproto_core.cid import CID

from mentiondesk.channels.connectors.base import PayloadProblem, RemotePost, RemoteUser
from mentiondesk.channels.connectors.payload import time_parse

from .rules import uri_parts

_M = TypeVar("_M")


def lexicon_model(data: Any, model: type[_M]) -> _M:
    """`data` as the SDK's lexicon model, or ModelError (a shape the lexicon does not allow)."""
    if not isinstance(data, dict):
        raise ModelError("not a JSON object")
    parsed = get_or_create(data, model, strict=True)
    if not isinstance(parsed, model):  # pragma: no cover - strict mode raises instead
        raise ModelError(f"not a {model.__name__}")
    return parsed


def _slice(text: str, start: int, end: int) -> str:
    """The UTF-8 byte range [start, end) of `text` (facet indexes count bytes)."""
    return text.encode()[start:end].decode("utf-8", errors="replace")


def post_from_record(
    *,
    uri: str,
    cid: str,
    author_did: str,
    author_handle: str,
    record: Any,
    indexed_at: str | None,
    raw: dict[str, Any],
    known_handles: dict[str, str] | None = None,
) -> RemotePost | PayloadProblem:
    """One post record (app.bsky.feed.post) as a RemotePost, or a PayloadProblem keeping `raw`.

    created_at is the record's `createdAt` (declared by the author's client) but never later
    than `indexedAt` (when the network saw it): a client clock ahead must not sort a question
    after its answer. Mentions are the handles as written at each #mention facet (falling back
    to `known_handles` by DID); links are the #link facets' URIs."""
    try:
        post = lexicon_model(record, models.AppBskyFeedPost.Record)
    except ModelError as exc:
        return PayloadProblem(f"post {uri}: not an app.bsky.feed.post record ({exc})"[:500], raw)
    created = time_parse(post.created_at)
    indexed = time_parse(indexed_at)
    moments = [m for m in (created, indexed) if m is not None]
    if not moments:
        return PayloadProblem(f"post {uri}: no readable createdAt or indexedAt", raw)
    mentions: list[str] = []
    urls: list[dict[str, str]] = []
    for facet in post.facets or []:
        shown = _slice(post.text, facet.index.byte_start, facet.index.byte_end)
        for feature in facet.features:
            if isinstance(feature, models.AppBskyRichtextFacet.Mention):
                handle = shown.removeprefix("@") if shown.startswith("@") else ""
                handle = handle or (known_handles or {}).get(feature.did, "")
                if handle and handle not in mentions:
                    mentions.append(handle)
            elif isinstance(feature, models.AppBskyRichtextFacet.Link):
                urls.append({"url": feature.uri, "expanded_url": feature.uri, "display_url": shown})
    reply = post.reply
    parent_uri = reply.parent.uri if reply else None
    return RemotePost(
        remote_id=uri,
        author_id=author_did,
        author_username=author_handle,
        text=post.text,
        created_at=min(moments),
        conversation_id=reply.root.uri if reply else uri,
        in_reply_to_id=parent_uri,
        in_reply_to_user_id=uri_parts(parent_uri)[0] or None if parent_uri else None,
        mentions=tuple(mentions),
        urls=tuple(urls),
        raw={**raw, "cid": cid} if "cid" not in raw else raw,
    )


def parse_notification(item: Any, *, me: RemoteUser | None = None) -> RemotePost | PayloadProblem:
    """One app.bsky.notification.listNotifications#notification (reason mention, reply or
    quote) as the post it notifies; `raw` is the notification as received (with its `cid`)."""
    raw = item if isinstance(item, dict) else {"item": item}
    try:
        note = lexicon_model(item, models.AppBskyNotificationListNotifications.Notification)
    except ModelError as exc:
        return PayloadProblem(f"notification breaks the lexicon ({exc})"[:500], raw)
    known = {note.author.did: note.author.handle}
    if me is not None:
        known[me.remote_id] = me.username
    return post_from_record(
        uri=note.uri,
        cid=note.cid,
        author_did=note.author.did,
        author_handle=note.author.handle,
        record=raw.get("record"),
        indexed_at=note.indexed_at,
        raw=raw,
        known_handles=known,
    )


def parse_post_view(item: Any) -> RemotePost | PayloadProblem:
    """One app.bsky.feed.defs#postView as a RemotePost; `raw` is the view (with its `cid`)."""
    raw = item if isinstance(item, dict) else {"item": item}
    try:
        view = lexicon_model(item, models.AppBskyFeedDefs.PostView)
    except ModelError as exc:
        return PayloadProblem(f"post view breaks the lexicon ({exc})"[:500], raw)
    return post_from_record(
        uri=view.uri,
        cid=view.cid,
        author_did=view.author.did,
        author_handle=view.author.handle,
        record=raw.get("record"),
        indexed_at=view.indexed_at,
        raw=raw,
        known_handles={view.author.did: view.author.handle},
    )


def notification_key(item: dict[str, Any]) -> str | None:
    """The checkpoint of one notification: "<indexedAt as UTC ISO>|<uri>". Notifications come
    newest first by indexedAt; the key orders them and survives the post's deletion (a URI
    alone would not: a deleted post's notification disappears, and paging would run on to the
    end). The cursor is not used as a checkpoint: it is opaque and the AppView may change it."""
    moment = time_parse(item.get("indexedAt"))
    uri = item.get("uri")
    if moment is None or not isinstance(uri, str):
        return None
    return f"{moment.isoformat(timespec='microseconds')}|{uri}"


def key_reached(key: str, checkpoint: str) -> bool:
    """Whether a notification with `key` is at or before `checkpoint` (already read)."""
    moment, _, uri = key.partition("|")
    seen_moment, _, seen_uri = checkpoint.partition("|")
    return moment < seen_moment or (moment == seen_moment and uri == seen_uri)


# --- A repo export (com.atproto.sync.getRepo): a CAR file -----------------------------------------
# Its first root is the signed commit ({did, data, rev, …}); `data` is the root of the Merkle
# Search Tree whose keys are "<collection>/<rkey>" and whose values link the records
# (atproto.com/specs/repository: each node {l, e: [{p, k, v, t}]}, a key being the previous
# key's first `p` bytes then `k`, `l` and `t` the subtrees left of and after an entry).


def ipld_json(value: Any) -> Any:
    """A decoded DAG-CBOR value in the JSON form the XRPC API uses: a link (libipld gives its
    CID bytes) as {"$link": cid}, other bytes as {"$bytes": base64}."""
    if isinstance(value, dict):
        return {key: ipld_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [ipld_json(item) for item in value]
    if isinstance(value, bytes):
        try:
            return {"$link": libipld.encode_cid(value)}
        except ValueError:
            return {"$bytes": base64.b64encode(value).decode().rstrip("=")}
    return value


def repo_read(data: bytes) -> tuple[str, Iterator[tuple[str, str, Any]]]:
    """The DID of a repo CAR export and its records in key order: (key "<collection>/<rkey>",
    the record's CID, the record as JSON, or None when the export lacks its block). Raises
    ValueError when the CAR or its commit cannot be read."""
    try:
        car = CAR.from_bytes(data)
    except Exception as exc:  # libipld and atproto_core raise several kinds for a bad CAR
        raise ValueError(f"not a CAR file ({exc})") from exc
    commit = car.blocks.get(car.root)
    if not isinstance(commit, dict) or not isinstance(commit.get("did"), str):
        raise ValueError("the CAR's root is not a repo commit (no did)")
    if not isinstance(commit.get("data"), bytes):
        raise ValueError("the repo commit names no records tree (data)")

    def block(link: Any) -> Any:
        return car.blocks.get(CID.from_decoded_bytes(link)) if isinstance(link, bytes) else None

    # A node met twice is a crafted file (a tree's nodes are each linked once): walking it
    # again would repeat its records, and links back to earlier nodes would never end.
    seen: set[bytes] = set()

    def walk(link: bytes, depth: int) -> Iterator[tuple[str, str, Any]]:
        node = block(link)
        if not isinstance(node, dict) or depth > 64 or link in seen:  # ~log16(records) deep
            raise ValueError(f"records tree node {libipld.encode_cid(link)} is missing or bad")
        seen.add(link)
        if node.get("l"):
            yield from walk(node["l"], depth + 1)
        key = b""
        for entry in node.get("e") or []:
            key = key[: entry["p"]] + entry["k"]
            record = block(entry["v"])
            yield key.decode(), libipld.encode_cid(entry["v"]), ipld_json(record)
            if entry.get("t"):
                yield from walk(entry["t"], depth + 1)

    return commit["did"], walk(commit["data"], 0)
