"""Reconciling a send whose outcome is unknown (a worker killed mid-send) on a busy desk: our
post may be several timeline pages back by the time a worker looks (chaos finding 4). It is
found and recorded, never posted again; a post that is not there parks the reply saying how
far the search looked. Every page read is one metered X request."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.costs.models import XApiUsage
from mentiondesk.intake import ingest as channel_services
from mentiondesk.replies import services
from mentiondesk.replies.models import DeliveryAttempt, Reply
from mentiondesk.replies.services.reconcile import SearchProgress
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket

TIMELINE = "GET /2/users/:id/tweets"


def our_id(desk: SandboxServer) -> str:
    return desk.store.user_by_username("Driftwood")["id"]  # type: ignore[index]


def posts_asked(desk: SandboxServer) -> int:
    return len([r for r in desk.store.request_log() if (r.method, r.path) == ("POST", "/2/tweets")])


def timeline_requests() -> int:
    return XApiUsage.objects.filter(endpoint=TIMELINE).aggregate(n=Sum("requests"))["n"] or 0


@pytest.fixture
def killed_mid_send(desk: SandboxServer, advocate: User) -> tuple[Reply, str]:
    """A reply a worker claimed and was killed sending: `sending`, its lease over, one pending
    attempt whose request had left (the rows a SIGKILLed worker leaves). Returns it and the
    post it answers."""
    parent = desk.store.mention_add("maya", "@Driftwood pushing to main fails with a 502")
    results = channel_services.mentions_poll_all()
    assert not [r.error for r in results if r.error]
    ticket = Ticket.objects.get()
    reply = services.reply_create(ticket=ticket, author=advocate, text="Looking at it now, Maya!")
    assert reply.in_reply_to_remote_id == parent
    Reply.objects.filter(pk=reply.pk).update(
        status=Reply.Status.SENDING,
        lease_until=timezone.now() - timedelta(seconds=1),
        attempts=1,
    )
    DeliveryAttempt.objects.create(
        reply=reply, in_reply_to_remote_id=parent, request_started_at=timezone.now()
    )
    reply.refresh_from_db()
    return reply, parent


def busy_desk(desk: SandboxServer, count: int) -> None:
    """`count` other replies of ours posted after: the other workers kept sending."""
    author = our_id(desk)
    for n in range(count):
        other = desk.store.mention_add(f"user{n}", f"@Driftwood question number {n}")
        desk.store.post_create(author, f"Answer number {n}", in_reply_to=other)


@pytest.mark.django_db
def test_a_reply_posted_before_the_kill_is_found_pages_back_and_not_resent(
    desk: SandboxServer, killed_mid_send: tuple[Reply, str]
) -> None:
    reply, parent = killed_mid_send
    # X stored the post before the worker died; 250 more of ours followed it.
    posted = desk.store.post_create(our_id(desk), reply.text, in_reply_to=parent)
    busy_desk(desk, 250)

    before = timeline_requests()  # the poll reads each handle's own timeline too
    reply = services.reply_deliver(reply_id=reply.pk)

    assert reply.status == Reply.Status.SENT
    assert reply.post is not None and reply.post.remote_id == posted["id"]
    assert posts_asked(desk) == 0, "found on the network: never posted a second time"
    outcomes = list(reply.attempts_log.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == [DeliveryAttempt.Outcome.PENDING, DeliveryAttempt.Outcome.RECONCILED_FOUND]
    # 251 posts since the parent, 100 a page: the post is on the third page.
    assert timeline_requests() - before == 3
    services.outbox_drain()
    assert posts_asked(desk) == 0


@pytest.mark.django_db
def test_a_reply_not_on_the_network_is_parked_after_reading_back_to_its_parent(
    desk: SandboxServer, killed_mid_send: tuple[Reply, str]
) -> None:
    reply, _ = killed_mid_send
    busy_desk(desk, 150)

    before = timeline_requests()
    reply = services.reply_deliver(reply_id=reply.pk)

    assert reply.status == Reply.Status.NEEDS_ATTENTION
    assert "not among @Driftwood's posts since the post it answers (150 posts read)" in (
        reply.reason
    )
    assert "not re-sent" in reply.reason
    assert timeline_requests() - before == 2
    services.reply_deliver(reply_id=reply.pk)
    services.outbox_drain()
    assert posts_asked(desk) == 0, "a parked reply is never sent by itself"


@pytest.mark.django_db
def test_the_search_stops_at_the_page_cap_and_says_how_far_it_looked(
    desk: SandboxServer, killed_mid_send: tuple[Reply, str], settings: Any
) -> None:
    settings.RECONCILE_MAX_PAGES = 2
    reply, parent = killed_mid_send
    # On the network, but 250 posts back: beyond two pages.
    desk.store.post_create(our_id(desk), reply.text, in_reply_to=parent)
    busy_desk(desk, 250)

    before = timeline_requests()
    reply = services.reply_deliver(reply_id=reply.pk)

    assert reply.status == Reply.Status.NEEDS_ATTENTION
    assert "newest 200 posts (2 pages of GET /2/users/:id/tweets, the cap, back to " in (
        reply.reason
    )
    assert "older posts were not read" in reply.reason
    assert timeline_requests() - before == 2, "the cap bounds the metered requests"
    assert posts_asked(desk) == 0


@pytest.mark.django_db
def test_a_rate_limited_search_waits_for_the_reset_then_finds_the_post(
    desk: SandboxServer, killed_mid_send: tuple[Reply, str]
) -> None:
    reply, parent = killed_mid_send
    posted = desk.store.post_create(our_id(desk), reply.text, in_reply_to=parent)
    busy_desk(desk, 120)
    desk.store.fault_add(
        "GET", f"/2/users/{our_id(desk)}/tweets", kind="status", status=429, reset_in=2
    )

    reply = services.reply_deliver(reply_id=reply.pk)

    # Still unknown: not parked, not re-sent; reconciled again once X's window resets.
    assert reply.status == Reply.Status.SENDING
    assert reply.lease_until is not None and reply.lease_until > timezone.now()
    assert "rate limit" in reply.reason
    assert services.outbox_due() == []
    assert services.reply_deliver(reply_id=reply.pk).status == Reply.Status.SENDING
    while timezone.now() <= reply.lease_until:
        time.sleep(0.2)
    assert services.outbox_due() == [reply.pk]

    reply = services.reply_deliver(reply_id=reply.pk)

    assert reply.status == Reply.Status.SENT
    assert reply.post is not None and reply.post.remote_id == posted["id"]
    assert posts_asked(desk) == 0
    outcomes = list(reply.attempts_log.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == [
        DeliveryAttempt.Outcome.PENDING,
        DeliveryAttempt.Outcome.RATE_LIMITED,
        DeliveryAttempt.Outcome.RECONCILED_FOUND,
    ]


@pytest.mark.django_db
def test_a_search_longer_than_a_rate_limit_window_goes_on_where_it_stopped(
    desk: SandboxServer, killed_mid_send: tuple[Reply, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two timeline calls a window (X's Basic tier allows a few per 15 minutes) and a post
    three pages back: starting over at each try would never get there (chaos finding 6)."""
    reply, parent = killed_mid_send
    posted = desk.store.post_create(our_id(desk), reply.text, in_reply_to=parent)
    busy_desk(desk, 250)
    monkeypatch.setitem(desk.store.rate_limits, TIMELINE, 2)
    monkeypatch.setattr(desk.store, "window", 1.0)
    time.sleep(1.1)  # the windows the poll opened are over: the next ones allow 2 calls
    before = timeline_requests()

    reply = services.reply_deliver(reply_id=reply.pk)

    assert reply.status == Reply.Status.SENDING, "two pages read, then the window was spent"
    assert reply.search_progress["pages"] == 2 and reply.search_progress["token"]
    while timezone.now() <= reply.lease_until:
        time.sleep(0.2)

    reply = services.reply_deliver(reply_id=reply.pk)

    assert reply.status == Reply.Status.SENT
    assert reply.post is not None and reply.post.remote_id == posted["id"]
    assert timeline_requests() - before == 3, "the third page only: the first two were read"
    assert reply.search_progress == {}
    assert posts_asked(desk) == 0


@pytest.mark.django_db
def test_a_send_reconciled_late_is_looked_for_in_its_window_not_from_the_newest_post(
    desk: SandboxServer, killed_mid_send: tuple[Reply, str], settings: Any
) -> None:
    """Chaos finding 8: a backlog held the sweep up for 14 minutes, and four workers had posted
    thousands of replies on top of the killed one's. Read from the newest post, the search
    met its page cap and parked replies that were on the network."""
    settings.RECONCILE_MAX_PAGES = 2
    reply, parent = killed_mid_send
    began = timezone.now() - timedelta(minutes=14)  # the claim of the killed send
    Reply.objects.filter(pk=reply.pk).update(
        search_progress=SearchProgress(sent_from=began).as_json()
    )
    posted = desk.store.mention_add(
        "Driftwood", reply.text, in_reply_to=parent, created_at=began + timedelta(seconds=1)
    )
    busy_desk(desk, 250)  # newer than the cap reaches
    before = timeline_requests()

    reply = services.reply_deliver(reply_id=reply.pk)

    assert reply.status == Reply.Status.SENT
    assert reply.post is not None and reply.post.remote_id == posted
    assert timeline_requests() - before == 1, "X started the page at the window's end"
    assert posts_asked(desk) == 0


@pytest.mark.django_db
def test_after_a_5xx_only_the_posts_since_the_send_began_are_read(
    desk: SandboxServer, advocate: User
) -> None:
    earlier = timezone.now() - timedelta(minutes=10)
    parent = desk.store.mention_add("maya", "@Driftwood deploys hang", created_at=earlier)
    results = channel_services.mentions_poll_all()
    assert not [r.error for r in results if r.error]
    for n in range(150):  # ours, answering others after the parent, before this send
        desk.store.mention_add("Driftwood", f"Answer number {n}", created_at=earlier)
    desk.store.fault_add("POST", "/2/tweets", kind="status", status=503)
    reply = services.reply_create(ticket=Ticket.objects.get(), author=advocate, text="On it!")
    assert reply.in_reply_to_remote_id == parent
    before = timeline_requests()

    reply = services.reply_deliver(reply_id=reply.pk)

    assert reply.status == Reply.Status.NEEDS_ATTENTION
    assert "not among @Driftwood's posts from " in reply.reason
    assert " UTC (0 posts read)" in reply.reason
    assert timeline_requests() - before == 1, "not the two pages back to the parent"
    assert posts_asked(desk) == 1


@pytest.mark.django_db
def test_a_403_duplicate_is_looked_for_before_the_send_too(
    desk: SandboxServer, killed_mid_send: tuple[Reply, str]
) -> None:
    """X refuses a text we already posted: the identical post may be older than this send."""
    reply, parent = killed_mid_send
    posted = desk.store.mention_add(
        "Driftwood",
        reply.text,
        in_reply_to=parent,
        created_at=timezone.now() - timedelta(minutes=10),
    )
    Reply.objects.filter(pk=reply.pk).update(status=Reply.Status.QUEUED, lease_until=None)

    reply = services.reply_deliver(reply_id=reply.pk)

    assert posts_asked(desk) == 1, "sent once, refused as a duplicate"
    assert reply.status == Reply.Status.SENT
    assert reply.post is not None and reply.post.remote_id == posted
