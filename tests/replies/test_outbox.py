"""The outbox against the sandbox network: one post per reply, threaded to the latest
inbound post, and no second post when the outcome of a send is unknown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.channels import services as channel_services
from mentiondesk.replies import services
from mentiondesk.replies.models import DeliveryAttempt, Reply
from mentiondesk.sandbox.server import SandboxServer
from mentiondesk.tickets import services as ticket_services
from mentiondesk.tickets.models import Ticket, TicketEvent


def ingest() -> None:
    results = channel_services.mentions_poll_all()
    assert not [r.error for r in results if r.error]


def our_posts(desk: SandboxServer) -> list[dict[str, object]]:
    return desk.store.posts(author="Driftwood")


def replied_to(post: dict[str, object]) -> str:
    refs = post.get("referenced_tweets") or []
    return next(r["id"] for r in refs if r["type"] == "replied_to")  # type: ignore[index,union-attr]


@pytest.fixture
def conversation(desk: SandboxServer) -> tuple[Ticket, str]:
    """A ticket whose requester wrote twice; returns it and the id of the latest post."""
    first = desk.store.mention_add("maya", "@Driftwood pushing to main fails with a 502")
    latest = desk.store.mention_add(
        "maya", "@Driftwood still failing, any news?", in_reply_to=first
    )
    ingest()
    return Ticket.objects.get(), latest


@pytest.mark.django_db
def test_reply_goes_out_once_threaded_to_the_latest_post(
    desk: SandboxServer, conversation: tuple[Ticket, str], advocate: User
) -> None:
    ticket, latest = conversation
    reply = services.reply_create(ticket=ticket, author=advocate, text="Sorry Maya, looking now.")
    reply = services.reply_deliver(reply_id=reply.pk)
    assert reply.status == Reply.Status.SENT
    (posted,) = our_posts(desk)
    assert replied_to(posted) == latest
    assert reply.post is not None and reply.post.remote_id == posted["id"]

    ticket.refresh_from_db()
    assert ticket.first_response_at is not None
    sent = ticket.events.get(kind=TicketEvent.Kind.REPLY_SENT)
    assert sent.data["url"] == f"https://x.com/Driftwood/status/{posted['id']}"

    services.reply_deliver(reply_id=reply.pk)
    services.outbox_drain()
    assert len(our_posts(desk)) == 1


@pytest.mark.django_db
def test_a_follow_up_that_arrives_after_queueing_is_the_one_answered(
    desk: SandboxServer, conversation: tuple[Ticket, str], advocate: User
) -> None:
    ticket, latest = conversation
    reply = services.reply_create(ticket=ticket, author=advocate, text="Looking into it!")
    assert reply.in_reply_to_remote_id == latest
    newest = desk.store.mention_add("maya", "@Driftwood hello??", in_reply_to=latest)
    ingest()
    services.reply_deliver(reply_id=reply.pk)
    (posted,) = our_posts(desk)
    assert replied_to(posted) == newest


@pytest.mark.django_db
def test_a_timeout_after_x_accepted_the_post_is_reconciled_not_resent(
    desk: SandboxServer, conversation: tuple[Ticket, str], advocate: User
) -> None:
    ticket, _ = conversation
    desk.store.fault_add(
        "POST", "/2/tweets", kind="timeout_after_accept", delay=settings.X_TIMEOUT_SECONDS + 1
    )
    reply = services.reply_create(ticket=ticket, author=advocate, text="We're on it, Maya.")
    reply = services.reply_deliver(reply_id=reply.pk)
    assert reply.status == Reply.Status.SENT
    assert len(our_posts(desk)) == 1
    outcomes = list(reply.attempts_log.values_list("outcome", flat=True))
    assert outcomes == [DeliveryAttempt.Outcome.RECONCILED_FOUND]


@pytest.mark.django_db
def test_a_5xx_without_a_post_parks_the_reply_with_a_reason(
    desk: SandboxServer, conversation: tuple[Ticket, str], advocate: User
) -> None:
    ticket, _ = conversation
    desk.store.fault_add("POST", "/2/tweets", kind="status", status=503)
    reply = services.reply_create(
        ticket=ticket, author=advocate, text="Fixed now!", status_after="solved"
    )
    reply = services.reply_deliver(reply_id=reply.pk)
    assert reply.status == Reply.Status.NEEDS_ATTENTION
    assert "not re-sent" in reply.reason
    assert our_posts(desk) == []
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN, "a parked reply puts the ticket back in the queue"
    services.reply_deliver(reply_id=reply.pk)
    assert our_posts(desk) == [], "a parked reply is never retried by itself"


@pytest.mark.django_db
def test_duplicate_content_means_already_posted(
    desk: SandboxServer, conversation: tuple[Ticket, str], advocate: User
) -> None:
    ticket, latest = conversation
    reply = services.reply_create(ticket=ticket, author=advocate, text="Thanks for the report!")
    # The same text already went out (a double submit elsewhere, or a crash before recording).
    our_id = desk.store.user_by_username("Driftwood")["id"]  # type: ignore[index]
    desk.store.post_create(our_id, "Thanks for the report!", in_reply_to=latest)
    reply = services.reply_deliver(reply_id=reply.pk)
    assert reply.status == Reply.Status.SENT
    assert len(our_posts(desk)) == 1


@pytest.mark.django_db
def test_rate_limited_replies_wait_for_the_reset(
    desk: SandboxServer, conversation: tuple[Ticket, str], advocate: User
) -> None:
    ticket, _ = conversation
    desk.store.fault_add("POST", "/2/tweets", kind="status", status=429, reset_in=120)
    reply = services.reply_create(ticket=ticket, author=advocate, text="Checking!")
    reply = services.reply_deliver(reply_id=reply.pk)
    assert reply.status == Reply.Status.QUEUED
    assert reply.not_before is not None
    assert reply.not_before > timezone.now() + timedelta(seconds=100)
    posts_before = len([r for r in desk.store.request_log() if r.method == "POST"])
    assert services.outbox_due() == []
    services.reply_deliver(reply_id=reply.pk)
    assert len([r for r in desk.store.request_log() if r.method == "POST"]) == posts_before
    assert our_posts(desk) == []


@pytest.mark.django_db
def test_a_sweep_stops_trying_a_handle_that_x_put_off(
    desk: SandboxServer, conversation: tuple[Ticket, str], advocate: User
) -> None:
    first, _ = conversation
    desk.store.mention_add("noor", "@Driftwood the docs page 404s")
    ingest()
    second = Ticket.objects.exclude(pk=first.pk).get()
    queued = [
        services.reply_create(ticket=ticket, author=advocate, text=f"On it, {n}!")
        for n, ticket in enumerate((first, second))
    ]
    desk.store.fault_add("POST", "/2/tweets", kind="status", status=429, reset_in=120)

    assert services.outbox_drain() == 1
    posts = [r for r in desk.store.request_log() if r.method == "POST"]
    assert len(posts) == 1, "the second reply would only have been put off too"
    put_off, untried = (Reply.objects.get(pk=r.pk) for r in queued)
    assert put_off.status == Reply.Status.QUEUED and put_off.not_before is not None
    assert untried.status == Reply.Status.QUEUED and untried.not_before is None
    assert not DeliveryAttempt.objects.filter(reply=untried).exists()

    # The next sweep tries it (the window is still spent: X's memory, not another request).
    assert services.outbox_drain() == 1
    assert Reply.objects.get(pk=untried.pk).not_before is not None
    assert len([r for r in desk.store.request_log() if r.method == "POST"]) == 1


@pytest.mark.django_db
def test_status_handle_replies_go_out_from_main_for_advocates(
    desk: SandboxServer, advocate: User, infrastructure: User, lead: User
) -> None:
    desk.store.mention_add("kai", "@DriftwoodStatus is the API down?")
    ingest()
    ticket = Ticket.objects.get()
    assert ticket.handle.username == "DriftwoodStatus"
    not_yet = services.reply_handle_choice(ticket=ticket, user=infrastructure)
    assert not_yet.handle.username == "Driftwood", "the status handle is for availability only"
    ticket = ticket_services.ticket_intent_set(ticket=ticket, intent="availability", by=advocate)
    by_advocate = services.reply_create(ticket=ticket, author=advocate, text="Checking for you")
    assert by_advocate.handle.username == "Driftwood"
    assert "Only infrastructure users post from @DriftwoodStatus" in by_advocate.handle_reason
    by_infra = services.reply_handle_choice(ticket=ticket, user=infrastructure)
    assert by_infra.handle.username == "DriftwoodStatus"
    # No cross-answering: the ticket is ana's until a lead gives it to infrastructure.
    ticket_services.ticket_assign(ticket=ticket, assignee=infrastructure, by=lead)
    with pytest.raises(services.Collision, match="ana's reply to this post is already on its way"):
        services.reply_create(ticket=ticket, author=infrastructure, text="Investigating")
    stopped = ticket.events.get(kind=TicketEvent.Kind.COLLISION)
    assert stopped.actor == infrastructure and stopped.data["text"] == "Investigating"
