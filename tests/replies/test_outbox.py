"""The outbox against the sandbox network: one post per reply, threaded to the latest
inbound post, and no second post when the outcome of a send is unknown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.actions import policy as policy_actions
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.core.errors import DomainError, Forbidden
from mentiondesk.intake import ingest as channel_services
from mentiondesk.replies import services
from mentiondesk.replies.models import DeliveryAttempt, Reply
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets import services as ticket_services
from mentiondesk.tickets.models import Ticket, TicketEvent
from tests.conftest import DESK_POLICY


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
    """The handbook's handle switching, where X allows it: on an enterprise plan (on
    self-serve X refuses a reply from a handle the post did not mention: test_x_plan.py)."""
    policy_actions.policy_apply_text(text='x_plan = "enterprise"\n' + DESK_POLICY, source="e")
    desk.store.plan_set("enterprise")
    desk.store.mention_add("kai", "@DriftwoodStatus is the API down?")
    ingest()
    ticket = Ticket.objects.get()
    assert ticket.handle.username == "DriftwoodStatus"
    not_yet = services.reply_handle_choice(ticket=ticket, user=infrastructure)
    assert not_yet.handle.username == "Driftwood", "the status handle is for availability only"
    ticket = ticket_actions.ticket_intent_set(ticket=ticket, intent="availability", by=advocate)
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


@pytest.fixture
def two_tickets(desk: SandboxServer) -> tuple[Ticket, Ticket]:
    """Two tickets of the Twitter view: Play gives the first one first."""
    desk.store.mention_add("maya", "@Driftwood pushing to main fails with a 502")
    desk.store.mention_add("kai", "@Driftwood where do I find the runner logs?")
    ingest()
    return Ticket.objects.get(requester_username="maya"), Ticket.objects.get(
        requester_username="kai"
    )


@pytest.mark.django_db
def test_replying_out_of_order_takes_the_ticket_only_with_a_reason(
    two_tickets: tuple[Ticket, Ticket], advocate: User
) -> None:
    first, second = two_tickets
    with pytest.raises(DomainError, match=f"Play gives you #{first.pk} next") as refused:
        services.reply_create(ticket=second, author=advocate, text="Settings → Runners.")
    assert refused.value.field == "reason"
    assert Reply.objects.count() == 0
    services.reply_create(
        ticket=second, author=advocate, text="Settings → Runners.", reason="a one-liner"
    )
    second.refresh_from_db()
    assert second.assignee == advocate
    taken = second.events.get(kind=TicketEvent.Kind.TAKEN_OUT_OF_ORDER)
    assert (taken.actor, taken.message, taken.data["via"]) == (advocate, "a one-liner", "reply")
    # The head of the queue needs none (a reason given anyway is not used).
    services.reply_create(ticket=first, author=advocate, text="Looking.", reason="unused")
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.TAKEN_OUT_OF_ORDER).count() == 1


@pytest.mark.django_db
def test_someone_elses_ticket_is_refused_to_advocates_and_taken_over_by_leads(
    two_tickets: tuple[Ticket, Ticket], advocate: User, advocate2: User, lead: User
) -> None:
    held = ticket_services.ticket_next(user=advocate)
    assert held is not None
    with pytest.raises(Forbidden, match=f"Ticket #{held.pk} is assigned to ana"):
        services.reply_create(ticket=held, author=advocate2, text="I'll take it", reason="me")
    with pytest.raises(DomainError, match="say why you take it over") as refused:
        services.reply_create(ticket=held, author=lead, text="Looking into it.")
    assert refused.value.field == "reason"
    services.reply_create(ticket=held, author=lead, text="Looking into it.", reason="ana is out")
    held.refresh_from_db()
    assert held.assignee == lead
    taken = held.events.get(kind=TicketEvent.Kind.TAKEN_OUT_OF_ORDER)
    assert taken.actor == lead
    assert taken.data == {"via": "reply", "from": "ana", "to": "lee", "play_next": None}


@pytest.mark.django_db
def test_status_follow_ups_are_not_takes(
    two_tickets: tuple[Ticket, Ticket], advocate: User, infrastructure: User
) -> None:
    """An automated message is sent for the team: it skips no queue and crosses nobody."""
    for ticket in two_tickets:
        ticket_actions.ticket_intent_set(ticket=ticket, intent="availability", by=advocate)
    ticket_services.ticket_next(user=advocate)  # maya's is ana's; kai's is not ivan's next
    update = services.status_update_create(
        by=infrastructure,
        text="We're investigating elevated 502 errors.",
        incident_url="https://status.driftwood.dev/incidents/42",
        follow_up_open_reports=True,
    )
    follow_ups = services.status_update_follow_up(reply_id=update.pk)
    assert {r.ticket.requester_username for r in follow_ups if r.ticket} == {"maya", "kai"}
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.TAKEN_OUT_OF_ORDER).exists()
