"""One rule for "already answered": any post of ours after the requester's latest post (the
desk, the stream column, automation or another client, however it reached us) or a desk reply
on its way stops a second answer; a deliberate second reply is one confirmation, audited."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.audit import selectors as audit_selectors
from mentiondesk.channels.models import Post
from mentiondesk.core.errors import Conflict
from mentiondesk.desk.tickets import pages
from mentiondesk.intake import ingest as channel_services
from mentiondesk.replies import selectors as reply_selectors
from mentiondesk.replies import services
from mentiondesk.replies.models import DeliveryAttempt, Reply
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def ingest() -> None:
    results = channel_services.mentions_poll_all()
    assert not [r.error for r in results if r.error]


def our_posts(desk: SandboxServer) -> list[dict[str, object]]:
    return desk.store.posts(author="Driftwood")


@pytest.fixture
def conversation(desk: SandboxServer) -> tuple[Ticket, str]:
    """A ticket whose requester wrote once; returns it and the id of that post."""
    latest = desk.store.mention_add(
        "maya",
        "@Driftwood pushing to main fails with a 502",
        created_at=datetime.now(UTC) - timedelta(minutes=5),
    )
    ingest()
    return Ticket.objects.get(), latest


def answer_from_the_x_app(
    desk: SandboxServer, latest: str, *, created_at: datetime | None = None
) -> str:
    """Someone on the team answers in the X app, outside the desk (at `created_at` on X's
    clock); the poll pulls it in. Returns its id."""
    if created_at is None:
        driftwood = desk.store.user_by_username("Driftwood")["id"]  # type: ignore[index]
        posted = desk.store.post_create(driftwood, "@maya fixed, try again", in_reply_to=latest)
        post_id = str(posted["id"])
    else:
        post_id = desk.store.mention_add(
            "Driftwood", "@maya fixed, try again", in_reply_to=latest, created_at=created_at
        )
    ingest()
    assert Post.objects.get(remote_id=post_id).direction == Post.Direction.OUTBOUND
    return post_id


def test_a_reply_from_another_client_stops_a_second_answer(
    desk: SandboxServer, conversation: tuple[Ticket, str], advocate: User
) -> None:
    ticket, latest = conversation
    outside = answer_from_the_x_app(desk, latest)
    link = f"https://x.com/Driftwood/status/{outside}"

    answer = reply_selectors.ticket_answer_get(ticket=ticket)
    assert answer is not None and answer.post is not None and answer.post.remote_id == outside
    with pytest.raises(services.Collision, match="@Driftwood answered from another client") as exc:
        services.reply_create(
            ticket=ticket, author=advocate, text="Sorry Maya, looking now.", seen_post_id=outside
        )
    assert exc.value.code == "already_answered"
    assert exc.value.answered == [f"@Driftwood answered from another client: {link}"]
    assert not Reply.objects.exists()
    stopped = ticket.events.get(kind=TicketEvent.Kind.COLLISION)
    assert link in stopped.message and stopped.actor == advocate
    assert len(our_posts(desk)) == 1


def test_an_outbound_post_on_the_ticket_counts_whoever_stored_it(
    conversation: tuple[Ticket, str], advocate: User
) -> None:
    ticket, latest = conversation
    inbound = Post.objects.get(remote_id=latest)
    Post.objects.create(
        network=ticket.network,
        remote_id=str(int(latest) + 1),
        handle=ticket.handle,
        ticket=ticket,
        direction=Post.Direction.OUTBOUND,
        author_remote_id=ticket.handle.remote_id,
        author_username="Driftwood",
        text="@maya on it",
        created_at=inbound.created_at,  # the same second: the snowflake orders them
        conversation_id=ticket.conversation_id,
    )
    with pytest.raises(services.Collision, match="answered from another client"):
        services.reply_create(ticket=ticket, author=advocate, text="Looking now")

    # Deleted, it no longer answers anything.
    Post.objects.filter(direction=Post.Direction.OUTBOUND).update(deleted_at=inbound.created_at)
    assert reply_selectors.ticket_answer_get(ticket=ticket) is None
    services.reply_create(ticket=ticket, author=advocate, text="Looking now")


def test_another_reply_is_one_confirmation_recorded_and_audited(
    desk: SandboxServer, conversation: tuple[Ticket, str], advocate: User
) -> None:
    ticket, latest = conversation
    outside = answer_from_the_x_app(desk, latest)

    reply = services.reply_create(
        ticket=ticket,
        author=advocate,
        text="Also: the fix is in 17.2, https://driftwood.dev/releases",
        seen_post_id=outside,
        another_reply=True,
    )
    assert reply.status == Reply.Status.QUEUED and reply.in_reply_to_remote_id == latest
    confirmed = ticket.events.get(kind=TicketEvent.Kind.ANOTHER_REPLY)
    assert confirmed.actor == advocate
    assert confirmed.data["reply"] == reply.pk
    assert confirmed.data["url"] == f"https://x.com/Driftwood/status/{outside}"
    assert "answered from another client" in confirmed.message
    (audited,) = audit_selectors.audit_events(ticket_id=ticket.pk, kind="another_reply")
    assert audited.pk == confirmed.pk and audited.actor == advocate

    # The post it knowingly follows does not stop it at send time.
    reply = services.reply_deliver(reply_id=reply.pk)
    assert reply.status == Reply.Status.SENT, reply.reason
    assert len(our_posts(desk)) == 2


def test_the_confirmation_never_skips_a_newer_customer_post(
    desk: SandboxServer, conversation: tuple[Ticket, str], advocate: User
) -> None:
    ticket, latest = conversation
    outside = answer_from_the_x_app(desk, latest)
    desk.store.mention_add("maya", "@Driftwood still broken", in_reply_to=outside)
    ingest()
    with pytest.raises(services.Collision, match="@maya wrote") as exc:
        services.reply_create(
            ticket=ticket, author=advocate, text="Hm", seen_post_id=outside, another_reply=True
        )
    assert exc.value.code == "collision" and exc.value.answered == []


def test_another_reply_is_not_stopped_by_the_post_it_follows_on_a_fast_x_clock(
    desk: SandboxServer, conversation: tuple[Ticket, str], advocate: User
) -> None:
    """X's clock a couple of minutes ahead of the desk's: the post the agent saw carries a time
    later than the reply's own; only posts the desk learns of after queueing stop a send."""
    ticket, latest = conversation
    ahead = datetime.now(UTC) + timedelta(minutes=2)
    answer_from_the_x_app(desk, latest, created_at=ahead)
    reply = services.reply_create(
        ticket=ticket, author=advocate, text="One more thing", another_reply=True
    )
    reply = services.reply_deliver(reply_id=reply.pk)
    assert reply.status == Reply.Status.SENT, reply.reason


def test_an_answer_pulled_in_after_queueing_stops_the_send_even_if_older(
    desk: SandboxServer, conversation: tuple[Ticket, str], advocate: User, lead: User
) -> None:
    """The X app's answer was written just before the desk's reply was queued but reaches the
    desk after: the reply stops rather than answer twice."""
    ticket, latest = conversation
    reply = services.reply_create(ticket=ticket, author=advocate, text="Looking now")
    before = reply.created_at - timedelta(seconds=30)
    answer_from_the_x_app(desk, latest, created_at=before)
    reply = services.reply_deliver(reply_id=reply.pk)
    assert reply.status == Reply.Status.NEEDS_ATTENTION
    assert reply.attempts_log.get().outcome == DeliveryAttempt.Outcome.STOPPED
    assert len(our_posts(desk)) == 1
    # Sending the same text again would stop again: a person reads on and writes anew.
    with pytest.raises(Conflict, match="the conversation moved on"):
        services.reply_retry(reply=reply, by=lead)
    page = pages.ticket_get_for_page(ticket_id=ticket.pk, viewer=lead)
    assert [r.person_action for r in page.unsent_replies] == [""]  # type: ignore[attr-defined]


def test_after_an_automated_follow_up_a_person_can_still_answer(
    desk: SandboxServer, advocate: User, infrastructure: User
) -> None:
    # Both handles: on X's self-serve plan the advocate answers from @Driftwood only if named.
    desk.store.mention_add("kai", "@Driftwood @DriftwoodStatus is the API down?")
    ingest()
    ticket = ticket_actions.ticket_intent_set(
        ticket=Ticket.objects.get(), intent="availability", by=advocate
    )
    update = services.status_update_create(
        by=infrastructure,
        text="We're investigating API errors.",
        incident_url="https://status.driftwood.dev/incidents/7",
        follow_up_open_reports=True,
    )
    services.reply_deliver(reply_id=update.pk)
    (follow_up,) = services.status_update_follow_up(reply_id=update.pk)
    services.reply_deliver(reply_id=follow_up.pk)

    with pytest.raises(
        services.Collision, match=re.escape("already sent: https://x.com/DriftwoodStatus/")
    ):
        services.reply_create(ticket=ticket, author=advocate, text="It was a bad deploy, fixed")
    reply = services.reply_create(
        ticket=ticket, author=advocate, text="It was a bad deploy, fixed", another_reply=True
    )
    assert services.reply_deliver(reply_id=reply.pk).status == Reply.Status.SENT
    assert ticket.events.filter(kind=TicketEvent.Kind.ANOTHER_REPLY, actor=advocate).exists()


def test_the_stream_refuses_a_post_answered_from_another_client(
    desk: SandboxServer, advocate: User
) -> None:
    asked = desk.store.mention_add("mover", "@MoveToDriftwood does the importer keep labels?")
    ingest()
    mover = desk.store.user_by_username("MoveToDriftwood")["id"]  # type: ignore[index]
    outside = desk.store.post_create(mover, "@mover yes, all of them", in_reply_to=asked)["id"]
    ingest()
    post = Post.objects.get(remote_id=asked)
    with pytest.raises(
        services.Collision,
        match=re.escape(
            f"@MoveToDriftwood answered from another client: "
            f"https://x.com/MoveToDriftwood/status/{outside}"
        ),
    ):
        services.stream_reply(post=post, by=advocate, text="Yes, labels come along!")
    reply = services.stream_reply(
        post=post, by=advocate, text="Yes, labels come along!", another_reply=True
    )
    assert reply.status == Reply.Status.QUEUED
