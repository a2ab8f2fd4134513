"""XConnector behaviour against the sandbox X network (and, for shapes the sandbox never sends,
a canned local server). Nothing of ours is mocked: only the network is local."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mentiondesk.channels.connectors.base import (
    ConnectorError,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    RemotePost,
    Unreachable,
)
from mentiondesk.channels.connectors.ratelimits import rate_limit_status
from mentiondesk.channels.connectors.x import XConnector
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.sandbox.x.store import SandboxStore


def connect(server: SandboxServer, username: str = "Driftwood", **kwargs: float) -> XConnector:
    server.store.user_add(username)
    return XConnector(base_url=server.url, token=server.store.token_for(username), **kwargs)


def calls(server: SandboxServer, method: str, path: str) -> int:
    return sum(1 for r in server.store.request_log() if (r.method, r.path) == (method, path))


def test_me_and_user_by_username(sandbox: SandboxServer) -> None:
    driftwood = connect(sandbox)
    kofi_id = sandbox.store.user_add("kofi_builds", "Kofi Mensah")

    me = driftwood.me()
    kofi = driftwood.user_by_username("KOFI_builds")  # usernames are case-insensitive

    assert (me.username, me.remote_id) == (
        "Driftwood",
        sandbox.store.user_by_username("Driftwood")["id"],
    )
    assert (kofi.remote_id, kofi.username, kofi.name) == (kofi_id, "kofi_builds", "Kofi Mensah")


def test_user_by_username_unknown_is_rejected_with_the_not_found_detail(
    sandbox: SandboxServer,
) -> None:
    with pytest.raises(Rejected, match="Could not find user with username: \\[nobody_here\\]"):
        connect(sandbox).user_by_username("nobody_here")


def test_mentions_pages_newest_first_then_since_id_returns_only_new(
    sandbox: SandboxServer,
) -> None:
    driftwood = connect(sandbox)
    me = driftwood.me()
    ids = [
        sandbox.store.mention_add("ana_codes", f"@Driftwood push fails, try {n}") for n in range(12)
    ]

    pages = [driftwood.mentions(me.remote_id, max_results=5)]
    while pages[-1].next_token:
        pages.append(
            driftwood.mentions(me.remote_id, max_results=5, pagination_token=pages[-1].next_token)
        )

    assert [len(p.posts) for p in pages] == [5, 5, 2]
    assert [post.remote_id for p in pages for post in p.posts] == ids[::-1]
    assert pages[0].newest_id == ids[-1]
    first = pages[0].posts[0]
    assert first.author_username == "ana_codes"
    assert first.mentions == ("Driftwood",)
    assert first.conversation_id == first.remote_id

    new_id = sandbox.store.mention_add("kofi_builds", "@Driftwood runners stuck")
    newer = driftwood.mentions(me.remote_id, since_id=pages[0].newest_id)
    assert [p.remote_id for p in newer.posts] == [new_id]
    assert driftwood.mentions(me.remote_id, since_id=new_id).posts == []


def test_mentions_max_results_out_of_range_is_rejected(sandbox: SandboxServer) -> None:
    driftwood = connect(sandbox)
    with pytest.raises(Rejected, match="not between 5 and 100") as caught:
        driftwood.mentions(driftwood.me().remote_id, max_results=500)
    assert caught.value.status == 400


def test_reply_threads_into_the_requesters_conversation(sandbox: SandboxServer) -> None:
    driftwood = connect(sandbox)
    me = driftwood.me()
    root = sandbox.store.mention_add("marta_dev", "@Driftwood the diff view crashes on big files")

    reply = driftwood.post_create("Thanks Marta, looking into it!", in_reply_to_id=root)
    follow_up = sandbox.store.mention_add(
        "marta_dev", "@Driftwood still broken for me", in_reply_to=reply.remote_id
    )
    page = driftwood.mentions(me.remote_id)

    assert (reply.author_id, reply.in_reply_to_id, reply.conversation_id) == (
        me.remote_id,
        root,
        root,
    )
    stored = sandbox.store.post_get(reply.remote_id)
    assert stored is not None
    assert stored["conversation_id"] == root
    newest = page.posts[0]
    assert newest.remote_id == follow_up
    assert (newest.conversation_id, newest.in_reply_to_id) == (root, reply.remote_id)
    assert newest.in_reply_to_user_id == me.remote_id
    # The parent being replied to comes along in includes.tweets.
    assert page.included[reply.remote_id].text == "Thanks Marta, looking into it!"


def test_post_create_is_201_and_delete_removes_it(sandbox: SandboxServer) -> None:
    driftwood = connect(sandbox)

    post = driftwood.post_create("Scheduled maintenance tonight at 22:00 UTC")
    assert isinstance(post, RemotePost)
    assert post.remote_id.isdigit() and len(post.remote_id) == 19
    assert post.conversation_id == post.remote_id
    assert abs(post.created_at - datetime.now(UTC)) < timedelta(seconds=5)
    assert [p["id"] for p in sandbox.store.posts("Driftwood")] == [post.remote_id]

    assert driftwood.post_delete(post.remote_id) is True
    assert sandbox.store.posts("Driftwood") == []
    gone = driftwood.posts_lookup([post.remote_id])
    assert gone.posts == []
    assert "Could not find tweet" in gone.problems[0].reason


def test_like_and_dm(sandbox: SandboxServer) -> None:
    driftwood = connect(sandbox)
    me = driftwood.me()
    praise = sandbox.store.mention_add("nico_rs", "@Driftwood the new code search is so fast 🚀")
    nico = sandbox.store.user_by_username("nico_rs")
    assert nico is not None

    assert driftwood.like(me.remote_id, praise) is True
    sent = driftwood.dm_send(nico["id"], "Hi Nico, could you send us your project path?")

    assert sandbox.store.likes() == [{"user_id": me.remote_id, "tweet_id": praise}]
    low, high = sorted((me.remote_id, nico["id"]), key=int)
    assert sent["dm_conversation_id"] == f"{low}-{high}"
    assert sandbox.store.dms()[0]["text"] == "Hi Nico, could you send us your project path?"


def test_like_on_behalf_of_someone_else_is_rejected(sandbox: SandboxServer) -> None:
    driftwood = connect(sandbox)
    other = sandbox.store.user_add("DriftwoodStatus")
    post = sandbox.store.mention_add("nico_rs", "@Driftwood nice")
    with pytest.raises(Rejected) as caught:
        driftwood.like(other, post)
    assert caught.value.status == 403


def test_duplicate_post_is_outcome_unknown_and_posted_once(sandbox: SandboxServer) -> None:
    driftwood = connect(sandbox)
    driftwood.post_create("We're investigating reports of failed pushes.")

    with pytest.raises(OutcomeUnknown, match="duplicate content") as caught:
        driftwood.post_create("We're investigating reports of failed pushes.")

    assert caught.value.status == 403
    assert caught.value.body["title"] == "Forbidden"
    assert len(sandbox.store.posts("Driftwood")) == 1


def test_429_raises_rate_limited_and_no_request_is_made_before_the_reset(
    sandbox: SandboxServer,
) -> None:
    driftwood = connect(sandbox)
    me = driftwood.me()
    path = f"/2/users/{me.remote_id}/mentions"
    sandbox.store.fault_add("GET", path, kind="status", status=429, reset_in=120)

    with pytest.raises(RateLimited) as first:
        driftwood.mentions(me.remote_id)
    # A second connector for the same token shares what the first one learnt.
    again = XConnector(base_url=sandbox.url, token=sandbox.store.token_for("Driftwood"))
    with pytest.raises(RateLimited) as second:
        again.mentions(me.remote_id)

    assert first.value.status == 429
    assert first.value.body["title"] == "Too Many Requests"
    expected = datetime.now(UTC) + timedelta(seconds=120)
    assert abs(first.value.reset_at - expected) < timedelta(seconds=5)
    assert second.value.reset_at == first.value.reset_at
    assert second.value.status is None  # refused locally
    assert calls(sandbox, "GET", path) == 1
    # Other endpoints are not held back.
    assert driftwood.user_posts(me.remote_id).posts == []


def test_429_in_the_older_code_88_shape_is_rate_limited(
    canned: Callable[..., Any],
) -> None:
    reset = int(time.time()) + 300
    server = canned(
        429,
        {"errors": [{"code": 88, "message": "Rate limit exceeded"}]},
        {
            "x-rate-limit-limit": "450",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(reset),
        },
    )
    connector = XConnector(base_url=server.url, token="t")

    with pytest.raises(RateLimited, match="Rate limit exceeded") as caught:
        connector.mentions("783214")
    with pytest.raises(RateLimited):
        connector.mentions("783214")

    # The reset is moved onto our clock by the skew read from the server's Date header, which
    # is to the second: a slow exchange on a loaded machine may measure one second of it.
    assert abs(caught.value.reset_at - datetime.fromtimestamp(reset, UTC)) <= timedelta(seconds=1)
    assert caught.value.body["errors"][0]["code"] == 88
    assert len(server.hits) == 1


def test_429_without_reset_header_waits_fifteen_minutes(
    canned: Callable[..., Any],
) -> None:
    server = canned(429, {"title": "Too Many Requests", "status": 429})
    with pytest.raises(RateLimited) as caught:
        XConnector(base_url=server.url, token="t").me()
    expected = datetime.now(UTC) + timedelta(minutes=15)
    assert abs(caught.value.reset_at - expected) < timedelta(seconds=5)


def test_spent_window_blocks_the_next_call_without_a_request() -> None:
    with SandboxServer(SandboxStore(rate_limits={"GET /2/users/me": 2})) as server:
        driftwood = connect(server)
        driftwood.me()
        driftwood.me()
        status = rate_limit_status(
            base_url=server.url,
            token=server.store.token_for("Driftwood"),
            endpoint="GET /2/users/me",
        )
        assert status is not None
        assert (status.limit, status.remaining) == (2, 0)

        with pytest.raises(RateLimited):
            driftwood.me()
        assert calls(server, "GET", "/2/users/me") == 2


def test_server_error_is_outcome_unknown_on_write_and_plain_error_on_read(
    sandbox: SandboxServer,
) -> None:
    driftwood = connect(sandbox)
    me = driftwood.me()
    sandbox.store.fault_add("POST", "/2/tweets", kind="status", status=503)
    sandbox.store.fault_add("GET", "/2/users/", kind="status", status=500)

    with pytest.raises(OutcomeUnknown) as write:
        driftwood.post_create("Back to normal, thanks for your patience")
    with pytest.raises(ConnectorError) as read:
        driftwood.mentions(me.remote_id)

    assert write.value.status == 503
    assert not isinstance(read.value, OutcomeUnknown)
    assert read.value.status == 500


def test_timeout_after_accept_is_outcome_unknown_and_the_post_exists(
    sandbox: SandboxServer,
) -> None:
    driftwood = connect(sandbox, timeout=0.5)
    me = driftwood.me()
    sandbox.store.fault_add("POST", "/2/tweets", kind="timeout_after_accept", delay=2.0)

    with pytest.raises(OutcomeUnknown, match="ReadTimeout"):
        driftwood.post_create("Thanks for the report, we're on it")

    assert [p["text"] for p in sandbox.store.posts("Driftwood")] == [
        "Thanks for the report, we're on it"
    ]
    # What reconciliation relies on: our own timeline shows the post that did go out.
    assert [p.text for p in driftwood.user_posts(me.remote_id).posts] == [
        "Thanks for the report, we're on it"
    ]


def test_dropped_connection_on_write_is_outcome_unknown(sandbox: SandboxServer) -> None:
    driftwood = connect(sandbox)
    driftwood.me()
    sandbox.store.fault_add("POST", "/2/tweets", kind="drop")
    with pytest.raises(OutcomeUnknown):
        driftwood.post_create("hello")
    assert sandbox.store.posts("Driftwood") == []


def test_unreachable_port_is_unreachable(closed_port: int) -> None:
    connector = XConnector(base_url=f"http://127.0.0.1:{closed_port}", token="t", timeout=2)
    with pytest.raises(Unreachable):
        connector.post_create("never sent")


def test_credentials_in_the_x_api_url_never_show_in_errors(closed_port: int) -> None:
    """A gateway URL may carry its own credentials: the poll's error names the host only."""
    for base_url in (
        f"http://gateway-user:s3cr3t-pass@127.0.0.1:{closed_port}",
        "ftp://gateway-user:s3cr3t-pass@127.0.0.1/x",
    ):
        connector = XConnector(base_url=base_url, token="t", timeout=2)
        with pytest.raises(Unreachable) as caught:
            connector.me()
        assert "s3cr3t-pass" not in str(caught.value)
        assert "gateway-user" not in str(caught.value)
        assert "***@127.0.0.1" in str(caught.value)


def test_bad_token_is_rejected_with_the_401_problem(sandbox: SandboxServer) -> None:
    connector = XConnector(base_url=sandbox.url, token="not-a-token")
    with pytest.raises(Rejected, match="401 Unauthorized") as caught:
        connector.me()
    assert caught.value.status == 401
    assert caught.value.body == {
        "title": "Unauthorized",
        "detail": "Unauthorized",
        "type": "about:blank",
        "status": 401,
    }


def test_malformed_items_become_problems_and_the_rest_of_the_page_is_kept(
    canned: Callable[..., Any],
) -> None:
    good = {
        "id": "1578516295611748353",
        "text": "@Twitter respond to my ticket",
        "author_id": "111",
        "created_at": "2022-10-07T22:43:00.000Z",
        "referenced_posts": [{"type": "replied_to", "id": "1578516295611748000"}],
        "edit_history_post_ids": ["1578516295611748353"],
        "entities": {"mentions": [{"start": 0, "end": 8, "username": "Twitter"}], "urls": {}},
    }
    no_author = {"id": "1578516273537118209", "text": "no author here"}
    bad_time = {**good, "id": "1578516273537118210", "created_at": "yesterday-ish"}
    body = {
        "data": [good, no_author, "not an object", bad_time],
        "includes": {"users": [{"id": "111", "name": "A", "username": "a_user"}]},
        "errors": [{"detail": "Could not find tweet with ids: [1].", "title": "Not Found Error"}],
        "meta": {"result_count": 4, "newest_id": "1578516295611748353"},
    }
    server = canned(200, body)

    page = XConnector(base_url=server.url, token="t").mentions("783214")

    assert [p.remote_id for p in page.posts] == ["1578516295611748353"]
    post = page.posts[0]
    assert (post.author_username, post.in_reply_to_id) == ("a_user", "1578516295611748000")
    assert post.conversation_id == post.remote_id  # not requested: the post starts its own
    assert post.urls == ()
    assert [p.raw for p in page.problems] == [
        no_author,
        "not an object",
        bad_time,
        body["errors"][0],
    ]
    assert "author_id" in page.problems[0].reason
    assert "created_at" in page.problems[2].reason


def test_non_json_answer_is_a_connector_error_naming_endpoint_and_status(
    canned: Callable[..., Any],
) -> None:
    server = canned(200, b"<html>gateway says hi</html>", {"content-type": "text/html"})
    with pytest.raises(ConnectorError, match="GET /2/users/:id/mentions: unexpected answer 200"):
        XConnector(base_url=server.url, token="t").mentions("783214")


def test_reply_to_a_deleted_post_is_rejected(sandbox: SandboxServer) -> None:
    driftwood = connect(sandbox)
    with pytest.raises(Rejected, match="deleted or not visible") as caught:
        driftwood.post_create("hi", in_reply_to_id="1999999999999999999")
    assert caught.value.status == 403
