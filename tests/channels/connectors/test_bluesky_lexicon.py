"""Payloads against the AT Protocol's own definitions: the sandbox's answers and the records
the connector sends are parsed with the `atproto` SDK's models, generated from the lexicons
(`lexicons/` of bluesky-social/atproto), in strict mode with string formats checked (at-uri,
did, cid, datetime, record key), so a wrong shape fails here. Also the text rules: facets in
UTF-8 bytes, 300 graphemes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from atproto_client import models
from atproto_client.exceptions import ModelError
from atproto_client.models import string_formats
from atproto_client.models.utils import get_or_create

from mentiondesk.channels.connectors.base import Rejected
from mentiondesk.channels.connectors.bluesky import rkey_for, text_graphemes
from mentiondesk.sandbox.bluesky import BlueskySandbox
from tests.channels.connectors.conftest import OURS, PASSWORD, connect


def strict(data: Any, model: type[Any]) -> Any:
    return get_or_create(data, model, strict=True, strict_string_format=True)


def xrpc(server: BlueskySandbox, nsid: str, **kwargs: Any) -> httpx.Response:
    method = "POST" if "json" in kwargs else "GET"
    return httpx.request(method, f"{server.url}/xrpc/{nsid}", timeout=5, **kwargs)


def test_the_strict_parse_does_fail_on_a_wrong_shape() -> None:
    with pytest.raises(ModelError):
        strict({"uri": "not-an-at-uri", "value": {}}, models.ComAtprotoRepoGetRecord.Response)


def test_the_sandbox_answers_as_the_lexicons_define(bluesky: BlueskySandbox) -> None:
    store = bluesky.store
    session = xrpc(
        bluesky, "com.atproto.server.createSession", json={"identifier": OURS, "password": PASSWORD}
    ).json()
    strict(session, models.ComAtprotoServerCreateSession.Response)
    auth = {"Authorization": f"Bearer {session['accessJwt']}"}
    refreshed = xrpc(
        bluesky,
        "com.atproto.server.refreshSession",
        json={},
        headers={"Authorization": f"Bearer {session['refreshJwt']}"},
    ).json()
    strict(refreshed, models.ComAtprotoServerRefreshSession.Response)
    ours = connect(bluesky).post_create("Status: green")
    root = store.post_add("ana.test", "@driftwood.test 日本語 ✅ https://example.com/a")
    store.post_add("kofi.test", "me too", reply_to=root)
    store.post_add("kofi.test", "look", quote=ours.remote_id)
    store.like_add("ana.test", ours.remote_id)

    notes = xrpc(bluesky, "app.bsky.notification.listNotifications", headers=auth).json()
    parsed = strict(notes, models.AppBskyNotificationListNotifications.Response)
    assert {n.reason for n in parsed.notifications} == {"mention", "quote", "like"}
    for note in parsed.notifications:
        strict(note.record, type(note.record))
    posts = xrpc(bluesky, "app.bsky.feed.getPosts", params={"uris": [root]}, headers=auth).json()
    strict(posts, models.AppBskyFeedGetPosts.Response)
    feed = xrpc(
        bluesky, "app.bsky.feed.getAuthorFeed", params={"actor": "kofi.test"}, headers=auth
    ).json()
    reply = strict(feed, models.AppBskyFeedGetAuthorFeed.Response).feed[1].post.record
    assert isinstance(reply, models.AppBskyFeedPost.Record) and reply.reply.root.uri == root
    rkey = ours.remote_id.rsplit("/", 1)[1]
    record = xrpc(
        bluesky,
        "com.atproto.repo.getRecord",
        params={"repo": OURS, "collection": "app.bsky.feed.post", "rkey": rkey},
    ).json()
    assert isinstance(
        strict(record, models.ComAtprotoRepoGetRecord.Response).value,
        models.AppBskyFeedPost.Record,
    )
    strict(
        xrpc(bluesky, "com.atproto.server.getSession", headers=auth).json(),
        models.ComAtprotoServerGetSession.Response,
    )
    strict(
        xrpc(bluesky, "app.bsky.actor.getProfile", params={"actor": OURS}, headers=auth).json(),
        models.AppBskyActorDefs.ProfileViewDetailed,
    )
    strict(
        xrpc(bluesky, "com.atproto.identity.resolveHandle", params={"handle": OURS}).json(),
        models.ComAtprotoIdentityResolveHandle.Response,
    )
    missing = xrpc(
        bluesky,
        "com.atproto.repo.getRecord",
        params={"repo": OURS, "collection": "app.bsky.feed.post", "rkey": "3kzzzzzzzzz22"},
    )
    assert (missing.status_code, missing.json()["error"]) == (400, "RecordNotFound")


def test_what_the_connector_sends_is_a_valid_record(bluesky: BlueskySandbox) -> None:
    ana = bluesky.store.post_add("ana.test", "@driftwood.test help")
    driftwood = connect(bluesky)
    driftwood.post_create("@ana.test see https://docs.example.com/fix", in_reply_to_id=ana)
    driftwood.like(driftwood.me().remote_id, ana)

    sent = [
        r.body
        for r in bluesky.store.request_log()
        if r.path == "/xrpc/com.atproto.repo.createRecord"
    ]
    strict(sent[0], models.ComAtprotoRepoCreateRecord.Data)
    post = strict(sent[0]["record"], models.AppBskyFeedPost.Record)
    like = strict(sent[1]["record"], models.AppBskyFeedLike.Record)
    assert post.reply.parent.uri == ana and like.subject.uri == ana
    assert datetime.fromisoformat(post.created_at).tzinfo is not None


@pytest.mark.parametrize(
    "text",
    [
        "@ana.test thanks! https://example.com/x",
        "👨‍👩‍👧 @ana.test 🎉 https://example.com/ø?q=1",
        "Привет @ana.test, смотрите https://example.com/путь",
        "こんにちは@ana.test さん https://example.com/日本",
        "e\u0301\u0301 @ana.test #release https://example.com",
    ],
)
def test_facets_point_at_utf8_bytes_of_the_mention_and_the_link(
    bluesky: BlueskySandbox, text: str
) -> None:
    ana = bluesky.store.post_add("ana.test", "@driftwood.test hi")

    connect(bluesky).post_create(text, in_reply_to_id=ana)

    record = bluesky.store.posts_by(OURS)[0]["value"]
    data = text.encode()
    by_kind: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for facet in record["facets"]:
        covered = data[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()
        for feature in facet["features"]:
            by_kind.setdefault(feature["$type"].rsplit("#", 1)[1], []).append((covered, feature))
    ((mention_text, mention),) = by_kind["mention"]
    ((link_text, link),) = by_kind["link"]
    assert mention_text == "@ana.test" and mention["did"] == bluesky.store.did_of("ana.test")
    assert link_text == link["uri"] and link_text.startswith("https://example.com")


def test_an_unknown_handle_stays_plain_text(bluesky: BlueskySandbox) -> None:
    connect(bluesky).post_create("ask @nobody.bsky.social about it")

    assert "facets" not in bluesky.store.posts_by(OURS)[0]["value"]


def test_300_graphemes_pass_301_are_refused_before_sending(bluesky: BlueskySandbox) -> None:
    wave = "👋🏽"  # two code points, eight bytes, one grapheme
    family = "👨‍👩‍👧"  # five code points, eighteen bytes, one grapheme
    assert text_graphemes(family * 300) == 300
    assert text_graphemes("e\u0301" * 3) == 3

    connect(bluesky).post_create(wave * 300)
    with pytest.raises(Rejected, match="301 characters"):
        connect(bluesky).post_create("a" * 301)
    # The lexicon also caps the text at 3000 bytes of UTF-8.
    with pytest.raises(Rejected, match="3060 bytes"):
        connect(bluesky).post_create(family * 170)
    assert len(bluesky.store.posts_by(OURS)) == 1
    assert bluesky.store.calls("com.atproto.repo.createRecord") == 1


def test_the_sandbox_refuses_301_graphemes_as_the_lexicon_does(bluesky: BlueskySandbox) -> None:
    session = xrpc(
        bluesky, "com.atproto.server.createSession", json={"identifier": OURS, "password": PASSWORD}
    ).json()
    record = {"$type": "app.bsky.feed.post", "text": "ü" * 301, "createdAt": "2026-12-07T15:00:00Z"}

    answer = xrpc(
        bluesky,
        "com.atproto.repo.createRecord",
        json={"repo": session["did"], "collection": "app.bsky.feed.post", "record": record},
        headers={"Authorization": f"Bearer {session['accessJwt']}"},
    )

    assert (answer.status_code, answer.json()["error"]) == (400, "InvalidRecord")
    assert bluesky.store.posts_by(OURS) == []


def test_rkey_for_is_a_stable_tid() -> None:
    when = datetime(2026, 12, 7, 15, 0, 0, 123456, tzinfo=UTC)

    key = rkey_for(created_at=when, seed=17)

    assert string_formats.TID_RE.match(key)
    assert key == rkey_for(created_at=when, seed=17)
    assert key != rkey_for(created_at=when, seed=18)
    assert rkey_for(created_at=when, seed=17) < rkey_for(created_at=when.replace(second=1), seed=0)
