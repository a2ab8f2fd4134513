"""BlueskyConnector reads and writes through the real `atproto` SDK against the local Bluesky:
mentions with their checkpoint, threading, likes, deletes, errors and the usage recorder."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta

import pytest

from mentiondesk.channels.connectors.base import (
    CallReport,
    ConnectorError,
    RateLimited,
    Rejected,
    RemotePost,
    Unreachable,
)
from mentiondesk.channels.connectors.bluesky import BlueskyConnector, post_url
from mentiondesk.sandbox.bluesky import BlueskySandbox
from tests.channels.connectors.conftest import OURS, PASSWORD, connect


def test_me_is_the_accounts_did_and_handle(bluesky: BlueskySandbox) -> None:
    me = connect(bluesky).me()

    assert (me.remote_id, me.username) == (bluesky.store.did_of(OURS), OURS)


def test_mentions_normalise_the_post_with_its_facets_and_keep_the_notification(
    bluesky: BlueskySandbox,
) -> None:
    uri = bluesky.store.post_add(
        "ana.test", "@driftwood.test deploy fails, log: https://paste.example.com/x1 @kofi.test"
    )

    page = connect(bluesky).mentions("ignored")

    assert [p.remote_id for p in page.posts] == [uri]
    post = page.posts[0]
    assert (post.author_id, post.author_username) == (bluesky.store.did_of("ana.test"), "ana.test")
    assert post.conversation_id == uri and post.in_reply_to_id is None
    assert post.mentions == ("driftwood.test", "kofi.test")
    assert post.urls == (
        {
            "url": "https://paste.example.com/x1",
            "expanded_url": "https://paste.example.com/x1",
            "display_url": "https://paste.example.com/x1",
        },
    )
    assert post.raw["reason"] == "mention" and post.raw["cid"].startswith("b")
    assert abs(post.created_at - datetime.now(UTC)) < timedelta(seconds=5)


def test_mentions_page_newest_first_and_stop_at_the_checkpoint(bluesky: BlueskySandbox) -> None:
    driftwood = connect(bluesky)
    uris = [bluesky.store.post_add("ana.test", f"@driftwood.test try {n}") for n in range(7)]

    pages = [driftwood.mentions("me", max_results=3)]
    while pages[-1].next_token:
        pages.append(driftwood.mentions("me", max_results=3, pagination_token=pages[-1].next_token))
    checkpoint = pages[0].newest_id

    assert [len(p.posts) for p in pages] == [3, 3, 1]
    assert [post.remote_id for p in pages for post in p.posts] == uris[::-1]
    assert checkpoint is not None and checkpoint.endswith(f"|{uris[-1]}")

    newer = [bluesky.store.post_add("kofi.test", f"@driftwood.test also {n}") for n in range(4)]
    first = driftwood.mentions("me", since_id=checkpoint, max_results=3)
    rest = driftwood.mentions(
        "me", since_id=checkpoint, max_results=3, pagination_token=first.next_token
    )

    assert [p.remote_id for p in first.posts + rest.posts] == newer[::-1]
    assert rest.next_token is None  # the checkpoint was reached: no paging into old ones
    assert driftwood.mentions("me", since_id=first.newest_id).posts == []


def test_replies_and_quotes_count_likes_do_not(bluesky: BlueskySandbox) -> None:
    store = bluesky.store
    driftwood = connect(bluesky)
    ours = driftwood.post_create("Status: all green")
    reply = store.post_add("ana.test", "not for me", reply_to=ours.remote_id)
    quote = store.post_add("kofi.test", "see this", quote=ours.remote_id)
    store.like_add("ana.test", ours.remote_id)

    page = driftwood.mentions("me")

    assert [(p.remote_id, p.raw["reason"]) for p in page.posts] == [
        (quote, "quote"),
        (reply, "reply"),
    ]
    as_reply = page.posts[1]
    assert as_reply.in_reply_to_id == ours.remote_id
    assert as_reply.in_reply_to_user_id == store.did_of(OURS)
    assert as_reply.conversation_id == ours.remote_id


def test_a_notification_off_the_lexicon_is_a_problem_kept_whole(bluesky: BlueskySandbox) -> None:
    store = bluesky.store
    good = store.post_add("ana.test", "@driftwood.test fine")
    store.post_add("kofi.test", "@driftwood.test broken")
    with store.lock:
        broken = store._notifications[-1]
        broken.record = {"$type": "app.bsky.feed.post", "text": 42}  # text must be a string

    page = connect(bluesky).mentions("me")

    assert [p.remote_id for p in page.posts] == [good]
    assert len(page.problems) == 1
    assert page.problems[0].raw["record"] == {"$type": "app.bsky.feed.post", "text": 42}
    assert "app.bsky.feed.post" in page.problems[0].reason


def test_reply_to_a_reply_carries_the_threads_root_and_the_parents_strong_refs(
    bluesky: BlueskySandbox,
) -> None:
    store = bluesky.store
    root = store.post_add("ana.test", "@driftwood.test my runner hangs")
    middle = store.post_add("kofi.test", "same here", reply_to=root)

    sent = connect(bluesky).post_create("We are on it", in_reply_to_id=middle, rkey="3lbcd2xyz2222")

    record = store.posts_by(OURS)[0]["value"]
    cids = {p["uri"]: p["cid"] for h in ("ana.test", "kofi.test") for p in store.posts_by(h)}
    assert record["reply"]["root"] == {
        "$type": "com.atproto.repo.strongRef",
        "uri": root,
        "cid": cids[root],
    }
    assert record["reply"]["parent"] == {
        "$type": "com.atproto.repo.strongRef",
        "uri": middle,
        "cid": cids[middle],
    }
    assert (sent.conversation_id, sent.in_reply_to_id) == (root, middle)
    assert sent.remote_id == f"at://{store.did_of(OURS)}/app.bsky.feed.post/3lbcd2xyz2222"
    # The customer is notified of the reply, as on Bluesky.
    assert any(n.reason == "reply" and n.uri == sent.remote_id for n in store._notifications)


def test_reply_to_a_deleted_post_is_rejected_before_anything_is_written(
    bluesky: BlueskySandbox,
) -> None:
    gone = f"at://{bluesky.store.did_of('ana.test')}/app.bsky.feed.post/3kzzzzzzzzz22"

    with pytest.raises(Rejected, match="not readable"):
        connect(bluesky).post_create("hello", in_reply_to_id=gone)
    assert bluesky.store.posts_by(OURS) == []
    assert bluesky.store.calls("com.atproto.repo.createRecord") == 0


def test_user_posts_and_lookup_read_what_we_posted(bluesky: BlueskySandbox) -> None:
    driftwood = connect(bluesky)
    first = driftwood.post_create("one")
    second = driftwood.post_create("two")
    ana = bluesky.store.post_add("ana.test", "@driftwood.test hi")

    feed = driftwood.user_posts(driftwood.me().remote_id, max_results=1)
    more = driftwood.user_posts(
        driftwood.me().remote_id, max_results=1, pagination_token=feed.next_token
    )
    lookup = driftwood.posts_lookup([ana, first.remote_id, ana.replace("post/", "post/x")])

    assert [p.remote_id for p in feed.posts + more.posts] == [second.remote_id, first.remote_id]
    assert [p.remote_id for p in lookup.posts] == [ana, first.remote_id]
    assert [problem.raw for problem in lookup.problems] == [{"uri": ana.replace("post/", "post/x")}]
    since = driftwood.user_posts(OURS, since_id=first.remote_id)
    assert [p.remote_id for p in since.posts] == [second.remote_id]


def test_like_and_delete(bluesky: BlueskySandbox) -> None:
    store = bluesky.store
    driftwood = connect(bluesky)
    ana = store.post_add("ana.test", "@driftwood.test you rock")
    mine = driftwood.post_create("thanks!", in_reply_to_id=ana)

    assert driftwood.like(driftwood.me().remote_id, ana) is True
    assert driftwood.post_delete(mine.remote_id) is True

    assert store.posts_by(OURS) == []
    (like,) = store.likes_by(OURS)
    assert (like["subject"]["uri"], like["subject"]["cid"]) == (
        ana,
        store.posts_by("ana.test")[0]["cid"],
    )
    with pytest.raises(Rejected):
        driftwood.like(store.did_of("kofi.test"), ana)  # only as ourselves, as on X
    with pytest.raises(Rejected):
        driftwood.post_delete(ana)  # not ours


def test_direct_messages_are_refused_without_a_request(bluesky: BlueskySandbox) -> None:
    with pytest.raises(Rejected, match="chat is a separate service"):
        connect(bluesky).dm_send(bluesky.store.did_of("ana.test"), "hi")
    assert bluesky.store.request_log() == []


def test_post_url_names_the_handle_and_the_record_key() -> None:
    uri = "at://did:plc:abc/app.bsky.feed.post/3kabc2xyz2222"

    assert (
        post_url(uri, handle="ana.test") == "https://bsky.app/profile/ana.test/post/3kabc2xyz2222"
    )
    assert post_url(uri) == "https://bsky.app/profile/did:plc:abc/post/3kabc2xyz2222"


# Errors


def test_nobody_listening_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connector = BlueskyConnector(
        service=f"http://127.0.0.1:{port}", handle=OURS, password=PASSWORD, timeout=2
    )

    with pytest.raises(Unreachable):
        connector.me()


def test_429_gives_the_reset_and_later_calls_wait_for_it_locally(bluesky: BlueskySandbox) -> None:
    driftwood = connect(bluesky)
    driftwood.me()
    bluesky.store.fault("ratelimited", path="/xrpc/app.bsky.notification", reset_in=120)

    with pytest.raises(RateLimited) as limited:
        driftwood.mentions("me")
    before = bluesky.store.calls("app.bsky.notification.listNotifications")
    with pytest.raises(RateLimited, match="not sent"):
        connect(bluesky).mentions("me")  # another connector of the same account

    expected = datetime.now(UTC) + timedelta(seconds=120)
    assert abs(limited.value.reset_at - expected) < timedelta(seconds=3)
    assert bluesky.store.calls("app.bsky.notification.listNotifications") == before
    assert driftwood.me().username == OURS  # other endpoints are not held back


def test_a_4xx_is_rejected_and_a_read_5xx_is_a_connector_error(bluesky: BlueskySandbox) -> None:
    driftwood = connect(bluesky)

    with pytest.raises(Rejected, match="400"):
        driftwood.user_posts("nobody.test")
    bluesky.store.fault("status", status=503, path="/xrpc/app.bsky.feed.getPosts")
    with pytest.raises(ConnectorError) as failed:
        driftwood.posts_lookup([bluesky.store.post_add("ana.test", "x")])
    assert type(failed.value) is ConnectorError and failed.value.status == 503


def test_every_request_is_reported_without_passwords_or_tokens(bluesky: BlueskySandbox) -> None:
    reports: list[CallReport] = []
    driftwood = connect(bluesky)
    ana = bluesky.store.post_add("ana.test", "@driftwood.test hi")

    with driftwood.recording(reports.append):
        driftwood.post_create("hello", in_reply_to_id=ana)

    assert [(r.endpoint, r.status) for r in reports] == [
        ("POST /xrpc/com.atproto.server.createSession", 200),
        ("GET /xrpc/app.bsky.feed.getPosts", 200),
        ("POST /xrpc/com.atproto.repo.createRecord", 200),
    ]
    shown = json.dumps([(r.sent, r.body) for r in reports])
    assert PASSWORD not in shown
    assert "accessJwt" in shown and "eyJ" not in shown  # the JWTs are masked
    assert reports[2].sent is not None and reports[2].sent["record"]["text"] == "hello"
    assert isinstance(reports[2].body, dict) and reports[2].body["uri"].startswith("at://")


def test_a_read_whose_connection_drops_is_reported_without_a_status(
    bluesky: BlueskySandbox,
) -> None:
    reports: list[CallReport] = []
    driftwood = connect(bluesky)
    driftwood.me()
    bluesky.store.fault("drop", path="/xrpc/app.bsky.notification")

    with driftwood.recording(reports.append), pytest.raises(ConnectorError, match="no answer"):
        driftwood.mentions("me")
    assert [(r.endpoint, r.status) for r in reports] == [
        ("GET /xrpc/app.bsky.notification.listNotifications", None)
    ]


def test_remote_post_fields_are_the_base_dataclass(bluesky: BlueskySandbox) -> None:
    post = connect(bluesky).post_create("plain")

    assert isinstance(post, RemotePost)
    assert post.conversation_id == post.remote_id and post.in_reply_to_id is None


def test_user_by_username_reads_the_profile_and_refuses_an_unknown_handle(
    bluesky: BlueskySandbox,
) -> None:
    driftwood = connect(bluesky)

    ana = driftwood.user_by_username("@ana.test")

    assert (ana.remote_id, ana.username, ana.name) == (
        bluesky.store.did_of("ana.test"),
        "ana.test",
        "Ana",
    )
    with pytest.raises(Rejected, match="Profile not found"):
        driftwood.user_by_username("nobody.test")


def test_clock_skew_is_measured_from_the_answers_date(bluesky: BlueskySandbox) -> None:
    driftwood = connect(bluesky)
    assert driftwood.clock_skew() is None

    driftwood.me()

    skew = driftwood.clock_skew()
    assert skew is not None and abs(skew) <= timedelta(seconds=1)  # same machine, same clock


def test_direct_messages_are_not_read_and_nothing_is_asked(bluesky: BlueskySandbox) -> None:
    page = connect(bluesky).dm_events()

    assert (page.events, page.next_token) == ([], None)
    assert bluesky.store.request_log() == []


def test_a_failed_read_before_the_write_is_retryable_and_sends_nothing(
    bluesky: BlueskySandbox,
) -> None:
    ana = bluesky.store.post_add("ana.test", "@driftwood.test help")
    bluesky.store.fault("status", status=503, path="/xrpc/app.bsky.feed.getPosts")

    with pytest.raises(Unreachable, match="nothing sent"):
        connect(bluesky).post_create("on it", in_reply_to_id=ana, rkey="3lbcd2xyz8888")
    assert bluesky.store.calls("com.atproto.repo.createRecord") == 0


def test_a_thread_handle_on_a_reserved_domain_still_gets_its_mention_facet(
    bluesky: BlueskySandbox,
) -> None:
    # The SDK's detector (like Bluesky's app) only takes real TLDs and .test; the handle of
    # the post replied to is known, so it is linked anyway.
    bluesky.store.account_add("lena.example")
    lena = bluesky.store.post_add("lena.example", "@driftwood.test where is the changelog?")

    connect(bluesky).post_create("@lena.example here: https://example.com/log", in_reply_to_id=lena)

    (facet,) = [
        f
        for f in bluesky.store.posts_by(OURS)[0]["value"]["facets"]
        if f["features"][0]["$type"].endswith("#mention")
    ]
    assert facet["index"]["byteStart"] == 0 and facet["index"]["byteEnd"] == len("@lena.example")
    assert facet["features"][0]["did"] == bluesky.store.did_of("lena.example")
