"""Shapes of real traffic the sandbox's script never plays, through services and the API: an
answer sent from another client, and an accidental reply deleted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mentiondesk.accounts.models import User
from mentiondesk.core.errors import Conflict
from mentiondesk.replies import services as replies
from mentiondesk.replies.models import PostAction, Reply
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets import services as tickets
from mentiondesk.tickets.models import Ticket, TicketEvent

from .conftest import Api, ingest

pytestmark = pytest.mark.django_db


def sent(reply: Reply) -> Reply:
    reply = replies.reply_deliver(reply_id=reply.pk)
    assert reply.status == Reply.Status.SENT, reply.reason
    return reply


def driftwood(desk: SandboxServer) -> str:
    return desk.store.user_by_username("Driftwood")["id"]  # type: ignore[index]


def test_an_answer_from_another_client_takes_the_ticket_out_of_the_queue(
    desk: SandboxServer, mention: Callable[..., Ticket], advocate: User
) -> None:
    ticket = mention("maya", "@Driftwood push fails with 502")
    asked = ticket.posts.get().remote_id
    outside = desk.store.post_create(driftwood(desk), "@maya fixed, try again", in_reply_to=asked)
    ingest()

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING
    assert ticket.first_response_at is not None
    event = ticket.events.get(kind=TicketEvent.Kind.ANSWERED_ELSEWHERE)
    assert event.message.endswith(f"https://x.com/Driftwood/status/{outside['id']}")
    assert tickets.ticket_next(user=advocate) is None, "Play hands out only unanswered tickets"
    body = Api(advocate).get(f"/tickets/{ticket.pk}").json()
    assert body["status"] == "pending" and body["first_response_at"] is not None


def test_an_outside_answer_to_an_earlier_post_leaves_the_newer_one_waiting(
    desk: SandboxServer, mention: Callable[..., Ticket], advocate: User
) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    ticket = mention("maya", "@Driftwood push fails with 502", created_at=start)
    first = ticket.posts.get().remote_id
    # Our answer from the X app, written before her second post but read after it.
    desk.store.mention_add(
        "Driftwood", "@maya on it", in_reply_to=first, created_at=start + timedelta(minutes=5)
    )
    later = desk.store.mention_add(
        "maya", "@Driftwood now 503 too", in_reply_to=first, created_at=start + timedelta(minutes=9)
    )
    ingest()

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN, "answered once, written to since: still waits"
    assert ticket.first_response_at is not None
    assert tickets.ticket_next(user=advocate) == ticket
    reply = replies.reply_create(ticket=ticket, author=advocate, text="503s are fixed too")
    assert reply.in_reply_to_remote_id == later


def test_deleting_our_only_answer_puts_the_ticket_back_in_the_queue(
    desk: SandboxServer, mention: Callable[..., Ticket], advocate: User, lead: User
) -> None:
    ticket = mention("omar", "@Driftwood where are my builds?")
    assert tickets.ticket_next(user=advocate) == ticket
    reply = sent(replies.reply_create(ticket=ticket, author=advocate, text="Oops, wrong window"))
    ticket.refresh_from_db()
    assert (ticket.status, ticket.first_response_at) == ("pending", reply.post.created_at)

    response = Api(lead).post(
        f"/posts/{reply.post.remote_id}/delete", {"reason": "sent by mistake"}
    )
    assert response.status_code in (200, 201, 202), response.content
    action = replies.post_action_run(action_id=response.json()["id"])
    assert action.status == "done"

    ticket.refresh_from_db()
    assert (ticket.status, ticket.first_response_at) == ("new", None)
    undone = ticket.events.get(kind=TicketEvent.Kind.RESPONSE_UNDONE)
    assert reply.post.url in undone.message
    # Back at its place in the queue: the advocate who held it gets it from Play again.
    assert tickets.ticket_next(user=advocate) == ticket
    assert desk.store.posts(author="Driftwood") == []


def test_deleting_an_answer_to_a_follow_up_keeps_the_first_response(
    desk: SandboxServer, mention: Callable[..., Ticket], advocate: User, lead: User
) -> None:
    ticket = mention("omar", "@Driftwood where are my builds?")
    tickets.ticket_next(user=advocate)
    first = sent(replies.reply_create(ticket=ticket, author=advocate, text="Under Pipelines"))
    desk.store.mention_add("omar", "@Driftwood not there", in_reply_to=first.post.remote_id)
    ingest()
    second = sent(replies.reply_create(ticket=ticket, author=advocate, text="wrong link"))

    action = replies.post_delete(post=second.post, by=lead, reason="wrong link")
    replies.post_action_run(action_id=action.pk)

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN, "the follow-up is unanswered again"
    assert ticket.first_response_at == first.post.created_at
    latest: Any = replies.reply_create(ticket=ticket, author=advocate, text="Settings → CI/CD")
    assert latest.in_reply_to_remote_id == ticket.posts.filter(direction="in").last().remote_id


def test_a_second_delete_of_the_same_post_is_a_conflict(
    desk: SandboxServer, mention: Callable[..., Ticket], advocate: User, lead: User
) -> None:
    ticket = mention("omar", "@Driftwood where are my builds?")
    tickets.ticket_next(user=advocate)
    reply = sent(replies.reply_create(ticket=ticket, author=advocate, text="Oops, wrong window"))

    first = replies.post_delete(post=reply.post, by=advocate, reason="sent by mistake")
    with pytest.raises(Conflict, match="a delete is already queued"):
        replies.post_delete(post=reply.post, by=lead, reason="sent by mistake")
    response = Api(lead).post(f"/posts/{reply.post.remote_id}/delete", {"reason": "again"})
    assert response.status_code == 409, response.content
    assert "a delete is already queued" in response.json()["detail"]
    assert list(PostAction.objects.filter(post=reply.post).values_list("pk", flat=True)) == [
        first.pk
    ]
    assert ticket.events.filter(kind=TicketEvent.Kind.POST_DELETED).count() == 1
