"""Reconciling on X's clock: a send whose outcome is unknown is looked for in its window as X
tells the time (skew measured from X's Date header), so a desk whose clock is minutes off X's
still finds its post instead of parking every unknown send. The sandbox's clock is set apart
from the desk's through its control API."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from django.conf import settings
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.channels.connectors.ratelimits import rate_limits_clear
from mentiondesk.channels.connectors.x import clock_skew
from mentiondesk.intake import ingest as channel_services
from mentiondesk.replies import services
from mentiondesk.replies.models import DeliveryAttempt, Reply
from mentiondesk.replies.services.reconcile import SearchProgress
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket

FIVE_MINUTES = 300


def clock_set(desk: SandboxServer, offset_seconds: int) -> None:
    answer = httpx.post(f"{desk.url}/_sandbox/clock", json={"offset_seconds": offset_seconds})
    assert answer.status_code == 200, answer.text


def ticket_from_mention(desk: SandboxServer) -> tuple[Ticket, str]:
    parent = desk.store.mention_add("maya", "@Driftwood pushing to main fails with a 502")
    results = channel_services.mentions_poll_all()
    assert not [r.error for r in results if r.error]
    return Ticket.objects.get(), parent


def our_posts(desk: SandboxServer) -> list[dict[str, object]]:
    return desk.store.posts(author="Driftwood")


@pytest.mark.django_db
@pytest.mark.parametrize("offset", [-FIVE_MINUTES, FIVE_MINUTES], ids=["behind", "ahead"])
def test_a_timed_out_send_is_found_when_x_clock_is_minutes_off_the_desk(
    desk: SandboxServer, advocate: User, offset: int
) -> None:
    """Behind: on the desk's clock the window starts after X's time for the post, and the
    reply would be parked. Ahead: a prompt search asks X for no end time, so only the late
    search below shows what the skew changes."""
    clock_set(desk, offset)
    ticket, _ = ticket_from_mention(desk)
    measured = clock_skew(base_url=desk.url)
    assert measured is not None and abs(measured.total_seconds() - offset) <= 1
    # X stores the post, then answers after the worker gave up waiting.
    desk.store.fault_add(
        "POST", "/2/tweets", kind="timeout_after_accept", delay=settings.X_TIMEOUT_SECONDS + 1
    )
    reply = services.reply_create(ticket=ticket, author=advocate, text="We're on it, Maya.")
    reply = services.reply_deliver(reply_id=reply.pk)

    assert reply.status == Reply.Status.SENT, reply.reason
    (posted,) = our_posts(desk)
    assert reply.post is not None and reply.post.remote_id == posted["id"]
    outcomes = list(reply.attempts_log.values_list("outcome", flat=True))
    assert outcomes == [DeliveryAttempt.Outcome.RECONCILED_FOUND]


@pytest.mark.django_db
def test_a_late_search_asks_x_for_the_window_on_its_clock(
    desk: SandboxServer, advocate: User
) -> None:
    """X five minutes ahead, and the send's search comes late (a worker died mid-send and the
    sweep was held up), so the window's end is asked too: on the desk's clock both ends lie
    before the post's time on X. A fresh worker has no skew measured yet and measures it."""
    clock_set(desk, FIVE_MINUTES)
    ticket, parent = ticket_from_mention(desk)
    reply = services.reply_create(ticket=ticket, author=advocate, text="Looking at it now!")
    sent_from = timezone.now() - timedelta(minutes=10)
    Reply.objects.filter(pk=reply.pk).update(
        status=Reply.Status.SENDING,
        lease_until=sent_from + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS),
        attempts=1,
        search_progress=SearchProgress(sent_from=sent_from).as_json(),
    )
    DeliveryAttempt.objects.create(
        reply=reply, in_reply_to_remote_id=parent, request_started_at=timezone.now()
    )
    # X created the post 5 s into the send, by its clock five minutes ahead of the desk's.
    posted = desk.store.mention_add(
        "Driftwood",
        reply.text,
        in_reply_to=parent,
        created_at=sent_from + timedelta(seconds=FIVE_MINUTES + 5),
    )
    rate_limits_clear()  # a worker that starts by reconciling knows nothing of X's clock

    reply = services.reply_deliver(reply_id=reply.pk)

    assert reply.status == Reply.Status.SENT, reply.reason
    assert reply.post is not None and reply.post.remote_id == posted
    assert len(our_posts(desk)) == 1, "found, never posted again"


@pytest.mark.django_db
def test_a_post_outside_the_window_is_reported_on_x_clock(
    desk: SandboxServer, advocate: User
) -> None:
    clock_set(desk, -FIVE_MINUTES)
    ticket, _ = ticket_from_mention(desk)
    desk.store.fault_add("POST", "/2/tweets", kind="status", status=503)
    reply = services.reply_create(ticket=ticket, author=advocate, text="Fixed now!")
    reply = services.reply_deliver(reply_id=reply.pk)

    assert reply.status == Reply.Status.NEEDS_ATTENTION
    # The skew is read from the Date header, to the second: a slow exchange may measure 299.
    assert re.search(r"UTC on X's clock, (299|300|301) s behind the desk's", reply.reason)
    assert our_posts(desk) == []
