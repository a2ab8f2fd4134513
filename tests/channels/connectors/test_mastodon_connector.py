"""The Mastodon connector against the sandbox instance: at-most-once replies, rate limits
honoured before any call, mentions held in notification requests, visibility, errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from mentiondesk.channels.connectors.base import (
    CallReport,
    ConnectorError,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    Unreachable,
)
from mentiondesk.channels.connectors.mastodon import (
    MastodonConnector,
    text_limits_clear,
    thread_roots,
)
from mentiondesk.sandbox.mastodon import MastodonSandbox, SandboxAccount
from tests.sandboxes import mastodon_follow, mastodon_requests_to


@pytest.fixture
def instance() -> Iterator[MastodonSandbox]:
    text_limits_clear()
    server = MastodonSandbox().start()
    try:
        yield server
    finally:
        server.stop()
        text_limits_clear()


@pytest.fixture
def desk(instance: MastodonSandbox) -> SandboxAccount:
    return instance.store.account_add("driftwood", display_name="Driftwood")


@pytest.fixture
def connector(instance: MastodonSandbox, desk: SandboxAccount) -> Iterator[MastodonConnector]:
    with MastodonConnector(base_url=instance.url, token=desk.token, timeout=2.0) as connector:
        yield connector


def _posts(instance: MastodonSandbox, account: SandboxAccount) -> list[str]:
    return [s["text"] for s in instance.store.statuses_by(account.id)]


# --- Reading mentions ---------------------------------------------------------------------------


def test_mentions_page_newest_first_and_resume_from_the_checkpoint(
    instance: MastodonSandbox, desk: SandboxAccount, connector: MastodonConnector
) -> None:
    ana = instance.store.account_add("ana")
    for n in range(3):
        instance.store.status_post(ana.id, f"@driftwood question {n}")
    first = connector.mentions(desk.id, max_results=2)
    assert [p.text for p in first.posts] == ["@driftwood question 2", "@driftwood question 1"]
    assert first.next_token is not None
    second = connector.mentions(desk.id, pagination_token=first.next_token, max_results=2)
    assert [p.text for p in second.posts] == ["@driftwood question 0"]
    assert first.newest_id is not None
    instance.store.status_post(ana.id, "@driftwood question 3")
    newer = connector.mentions(desk.id, since_id=first.newest_id)
    assert [p.text for p in newer.posts] == ["@driftwood question 3"]
    assert all(p.author_username == "ana" and p.author_id == ana.id for p in first.posts)


def test_filtered_mentions_in_notification_requests_are_returned_without_accepting(
    instance: MastodonSandbox, desk: SandboxAccount, connector: MastodonConnector
) -> None:
    desk_account = instance.store.accounts[desk.id]
    desk_account.for_not_following = "filter"  # Mastodon 4.3: strangers wait in requests
    stranger, friend = instance.store.account_add("stranger"), instance.store.account_add("pal")
    mastodon_follow(instance.store, follower_id=desk.id, followed_id=friend.id)
    instance.store.status_post(friend.id, "@driftwood hi from a friend")
    instance.store.status_post(stranger.id, "@driftwood my export fails")
    instance.store.status_post(stranger.id, "@driftwood still failing")
    # What Mastodon's own list shows: the friend only.
    assert sum(not n["filtered"] for n in instance.store.notifications) == 1

    page = connector.mentions(desk.id)
    assert sorted(p.text for p in page.posts) == [
        "@driftwood hi from a friend",
        "@driftwood my export fails",
        "@driftwood still failing",
    ]
    assert page.newest_id == str(max(n["id"] for n in instance.store.notifications))
    # Nothing accepted: the requests stay as the owner left them.
    assert all(n["filtered"] for n in instance.store.notifications if n["from_id"] == stranger.id)
    assert connector.mentions(desk.id, since_id=page.newest_id).posts == []


def test_a_direct_mention_from_a_stranger_is_filtered_yet_read_and_stays_direct(
    instance: MastodonSandbox, desk: SandboxAccount, connector: MastodonConnector
) -> None:
    ana = instance.store.account_add("ana")
    question = instance.store.status_post(ana.id, "@driftwood my invoice", visibility="direct")
    [post] = connector.mentions(desk.id).posts
    assert post.remote_id == question["id"] and post.raw["visibility"] == "direct"
    answer = connector.post_create(
        "@ana we are on it",
        in_reply_to_id=post.remote_id,
        visibility=post.raw["visibility"],
        idempotency_key="reply-7",
    )
    assert answer.raw["visibility"] == "direct"
    assert answer.in_reply_to_id == question["id"] and answer.in_reply_to_user_id == ana.id
    assert answer.conversation_id == question["id"]


def test_own_posts_and_lookup(
    instance: MastodonSandbox, desk: SandboxAccount, connector: MastodonConnector
) -> None:
    ana = instance.store.account_add("ana")
    question = instance.store.status_post(ana.id, "@driftwood hello")
    sent = connector.post_create(
        "@ana hi! see https://docs.example/start", in_reply_to_id=question["id"]
    )
    page = connector.user_posts(desk.id, start_time=datetime.now(UTC) - timedelta(minutes=1))
    [mine] = page.posts
    assert mine.remote_id == sent.remote_id == page.newest_id
    assert mine.text == "@ana hi! see https://docs.example/start"
    assert [u["url"] for u in mine.urls] == ["https://docs.example/start"]
    assert (
        connector.user_posts(desk.id, end_time=datetime.now(UTC) - timedelta(hours=1)).posts == []
    )
    found = connector.posts_lookup([question["id"], "1"])
    assert [p.remote_id for p in found.posts] == [question["id"]]
    assert [p.raw for p in found.problems] == [{"id": "1"}]


def test_like_delete_dm_me_and_text_limit(
    instance: MastodonSandbox, desk: SandboxAccount, connector: MastodonConnector
) -> None:
    ana = instance.store.account_add("ana")
    praise = instance.store.status_post(ana.id, "@driftwood you rock")
    assert connector.like(desk.id, praise["id"]) is True
    assert (desk.id, praise["id"]) in instance.store.favourites
    me = connector.me()
    assert (me.remote_id, me.username, me.name) == (desk.id, "driftwood", "Driftwood")
    assert connector.user_by_username("ana").remote_id == ana.id
    dm = connector.dm_send(ana.id, "your refund is on its way", idempotency_key="dm-1")
    stored = instance.store.statuses[dm["dm_event_id"]]
    assert stored["visibility"] == "direct" and stored["mentions"] == [ana.id]
    assert stored["text"] == "@ana your refund is on its way"
    assert connector.post_delete(dm["dm_event_id"]) is True
    assert dm["dm_event_id"] not in instance.store.statuses
    instance.store.max_characters = 1000
    assert connector.text_limit() == 1000
    instance.store.max_characters = 20
    assert connector.text_limit() == 1000, "read once per instance"
    calls = mastodon_requests_to(instance.store, "GET", "/api/v2/instance")
    assert len(calls) == 1


# --- At most once -------------------------------------------------------------------------------


def test_a_reply_sent_twice_with_the_same_key_posts_once(
    instance: MastodonSandbox, desk: SandboxAccount, connector: MastodonConnector
) -> None:
    ana = instance.store.account_add("ana")
    question = instance.store.status_post(ana.id, "@driftwood help")
    first = connector.post_create(
        "@ana on it", in_reply_to_id=question["id"], idempotency_key="r-1"
    )
    again = connector.post_create(
        "@ana on it", in_reply_to_id=question["id"], idempotency_key="r-1"
    )
    assert again.remote_id == first.remote_id
    assert _posts(instance, desk) == ["@ana on it"]
    keys = [
        r.idempotency_key for r in mastodon_requests_to(instance.store, "POST", "/api/v1/statuses")
    ]
    assert keys == ["r-1", "r-1"]


def test_a_500_after_the_write_then_a_retry_with_the_same_key_yields_one_status(
    instance: MastodonSandbox, desk: SandboxAccount, connector: MastodonConnector
) -> None:
    ana = instance.store.account_add("ana")
    question = instance.store.status_post(ana.id, "@driftwood help")
    instance.store.fault_add("status", method="POST", path="/api/v1/statuses", after=True)
    with pytest.raises(OutcomeUnknown):
        connector.post_create("@ana on it", in_reply_to_id=question["id"], idempotency_key="r-2")
    assert _posts(instance, desk) == ["@ana on it"], "the 500 came after the write"
    retried = connector.post_create(
        "@ana on it", in_reply_to_id=question["id"], idempotency_key="r-2"
    )
    assert [s["id"] for s in instance.store.statuses_by(desk.id)] == [retried.remote_id]


def test_a_dropped_connection_after_the_write_is_outcome_unknown_and_retry_is_safe(
    instance: MastodonSandbox, desk: SandboxAccount, connector: MastodonConnector
) -> None:
    reports: list[CallReport] = []
    instance.store.fault_add("drop", method="POST", path="/api/v1/statuses", after=True)
    with connector.recording(reports.append), pytest.raises(OutcomeUnknown):
        connector.post_create("status update", idempotency_key="r-3")
    assert [(r.endpoint, r.status) for r in reports] == [("POST /api/v1/statuses", None)]
    connector.post_create("status update", idempotency_key="r-3")
    assert _posts(instance, desk) == ["status update"]


def test_without_a_key_each_send_posts_and_errors_map_as_documented(
    instance: MastodonSandbox, desk: SandboxAccount, connector: MastodonConnector, closed_port: int
) -> None:
    instance.store.fault_add("status", status=503, method="GET")
    with pytest.raises(ConnectorError) as read:
        connector.mentions(desk.id)
    assert not isinstance(read.value, OutcomeUnknown | Rejected) and read.value.status == 503
    with pytest.raises(Rejected) as missing:
        connector.post_create("@ana hi", in_reply_to_id="12345")
    assert missing.value.status == 404
    with pytest.raises(Rejected):
        connector.post_create("x" * 501)
    with pytest.raises(Rejected):
        connector.post_create("hi", visibility="everyone")
    offline = MastodonConnector(base_url=f"http://127.0.0.1:{closed_port}", token=desk.token)
    reports: list[CallReport] = []
    with offline, offline.recording(reports.append), pytest.raises(Unreachable):
        offline.post_create("hello")
    assert reports == [], "nothing left: nothing to meter"
    stranger = MastodonConnector(base_url=instance.url, token="wrong")
    with stranger, pytest.raises(Rejected) as denied:
        stranger.me()
    assert denied.value.status == 401


# --- Rate limits --------------------------------------------------------------------------------


def test_after_a_429_no_call_is_made_before_the_reset(
    instance: MastodonSandbox, desk: SandboxAccount, connector: MastodonConnector
) -> None:
    instance.store.fault_add("status", status=429, reset_in=60, method="GET")
    with pytest.raises(RateLimited) as limited:
        connector.mentions(desk.id)
    reset_at = limited.value.reset_at
    assert timedelta(seconds=55) < reset_at - datetime.now(UTC) <= timedelta(seconds=61)
    sent = len(instance.store.requests)
    # Mastodon's limit is per account, every route: no route may be called before the reset.
    for call in (
        lambda: connector.mentions(desk.id),
        lambda: connector.post_create("hi", idempotency_key="k"),
        lambda: connector.like(desk.id, "1"),
    ):
        with pytest.raises(RateLimited) as refused:
            call()
        assert refused.value.reset_at == reset_at and refused.value.status is None
    assert len(instance.store.requests) == sent, "refused locally, nothing sent"
    # Another connector with the same token (another worker of this process) is refused too.
    with (
        MastodonConnector(base_url=instance.url, token=desk.token) as twin,
        pytest.raises(RateLimited),
    ):
        twin.me()
    assert len(instance.store.requests) == sent


def test_a_spent_window_announced_by_the_headers_blocks_until_its_reset(
    instance: MastodonSandbox, desk: SandboxAccount, connector: MastodonConnector
) -> None:
    instance.store.window_spend(desk.id, reset_in=120)
    with pytest.raises(RateLimited):
        connector.me()  # the instance answers 429 with its reset
    sent = len(instance.store.requests)
    with pytest.raises(RateLimited):
        connector.me()
    assert len(instance.store.requests) == sent


def test_deletions_have_their_own_bucket(
    instance: MastodonSandbox, desk: SandboxAccount, connector: MastodonConnector
) -> None:
    posted = connector.post_create("oops")
    instance.store.fault_add("status", status=429, reset_in=600, method="DELETE")
    with pytest.raises(RateLimited):
        connector.post_delete(posted.remote_id)
    sent = len(instance.store.requests)
    with pytest.raises(RateLimited):
        connector.post_delete(posted.remote_id)
    assert len(instance.store.requests) == sent
    assert connector.me().remote_id == desk.id, "other calls go on"


@pytest.mark.django_db(transaction=True)
def test_a_spent_window_is_shared_through_the_desk_database(
    instance: MastodonSandbox, desk: SandboxAccount
) -> None:
    from mentiondesk.channels.connectors.ratelimits import rate_limits_clear
    from mentiondesk.channels.models import RateLimitWindow

    instance.store.fault_add("status", status=429, reset_in=90)
    with (
        MastodonConnector(base_url=instance.url, token=desk.token) as first,
        pytest.raises(RateLimited),
    ):
        first.me()
    assert list(RateLimitWindow.objects.values_list("endpoint", flat=True)) == ["* /api/*"]
    rate_limits_clear()  # what another process knows: only the database
    sent = len(instance.store.requests)
    with (
        MastodonConnector(base_url=instance.url, token=desk.token) as other,
        pytest.raises(RateLimited),
    ):
        other.mentions(desk.id)
    assert len(instance.store.requests) == sent


def test_thread_roots_follow_the_replies_at_hand() -> None:
    statuses = [
        {"id": "3", "in_reply_to_id": "2"},
        {"id": "2", "in_reply_to_id": "1"},
        {"id": "1", "in_reply_to_id": None},
        {"id": "9", "in_reply_to_id": "8"},
    ]
    assert thread_roots(statuses) == {"3": "1", "2": "1", "1": "1", "9": "8"}


def test_an_instance_without_notification_requests_still_gives_its_mentions(
    instance: MastodonSandbox, desk: SandboxAccount, connector: MastodonConnector
) -> None:
    ana = instance.store.account_add("ana")
    instance.store.status_post(ana.id, "@driftwood hello")
    # Mastodon before 4.3 has no such route (and filters nothing).
    instance.store.fault_add("status", status=404, path="/api/v1/notifications/requests")
    assert [p.text for p in connector.mentions(desk.id).posts] == ["@driftwood hello"]
    instance.store.fault_add("status", status=403, path="/api/v1/notifications/requests")
    with pytest.raises(Rejected):
        connector.mentions(desk.id)
