"""What `make chaos` (bench/chaos.py) found in the outbox, kept as a test: a 5xx on the lookup
of who we post as, before any POST, was taken for X refusing the post."""

from __future__ import annotations

import pytest

from mentiondesk.accounts.models import User
from mentiondesk.intake import ingest as channel_services
from mentiondesk.replies import services
from mentiondesk.replies.models import DeliveryAttempt, Reply
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket


@pytest.mark.django_db
def test_a_5xx_on_the_author_lookup_before_a_post_retries_the_reply_later(
    desk: SandboxServer, advocate: User
) -> None:
    desk.store.mention_add("maya", "@Driftwood my pipeline is stuck")
    channel_services.mentions_poll_all()
    ticket = Ticket.objects.get()
    # The connector asks who it posts as (GET /2/users/me) once per process, before its first
    # POST; X answers that with a 503.
    desk.store.fault_add("GET", "/2/users/me", kind="status", status=503)
    reply = services.reply_create(ticket=ticket, author=advocate, text="Looking at it, Maya!")

    reply = services.reply_deliver(reply_id=reply.pk)

    # Nothing was sent, so nothing needs a person: the reply waits for its next try.
    assert reply.status == Reply.Status.QUEUED
    assert reply.not_before is not None
    assert "503" in reply.reason
    assert desk.store.posts(author="Driftwood") == []
    assert [r.method for r in desk.store.request_log() if r.path == "/2/tweets"] == []
    attempt = reply.attempts_log.get()
    assert attempt.outcome == DeliveryAttempt.Outcome.UNREACHABLE

    Reply.objects.filter(pk=reply.pk).update(not_before=None)
    reply = services.reply_deliver(reply_id=reply.pk)
    assert reply.status == Reply.Status.SENT
    assert len(desk.store.posts(author="Driftwood")) == 1
