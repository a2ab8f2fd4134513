"""The seed's scenarios, end to end on the sandbox X network and the local Slack server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.models import Post
from mentiondesk.integrations.slack import escalations
from mentiondesk.replies import services as replies
from mentiondesk.replies.models import PostAction, Reply
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket, TicketEvent
from tests.workflow.conftest import ingest

pytestmark = pytest.mark.django_db


def sent(reply: Reply) -> Reply:
    reply = replies.reply_deliver(reply_id=reply.pk)
    assert reply.status == Reply.Status.SENT, reply.reason
    return reply


def posts_by(desk: SandboxServer, username: str) -> list[dict[str, Any]]:
    return desk.store.posts(author=username)


def test_outage_mentioning_main_and_status_is_answered_from_status(
    desk: SandboxServer,
    mention: Callable[..., Ticket],
    advocate: User,
    infrastructure: User,
) -> None:
    ticket = mention("maya", "@Driftwood @DriftwoodStatus is driftwood.dev down? 502 on push")
    assert ticket.handle.username == "Driftwood", "several handles: the main one owns it"
    choice = replies.reply_handle_choice(ticket=ticket, user=infrastructure)
    assert choice.handle.username == "Driftwood", "not marked as availability yet"

    ticket = ticket_actions.ticket_intent_set(ticket=ticket, intent="availability", by=advocate)
    by_advocate = replies.reply_handle_choice(ticket=ticket, user=advocate)
    assert by_advocate.handle.username == "Driftwood"
    assert "Only infrastructure users post from @DriftwoodStatus" in by_advocate.reason

    # Infrastructure posts the status update and follows up on every open report.
    other = mention("li", "@DriftwoodStatus everything is timing out")
    ticket_actions.ticket_intent_set(ticket=other, intent="availability", by=advocate)
    update = replies.status_update_create(
        by=infrastructure,
        text="We're investigating elevated 502 errors on driftwood.dev.",
        incident_url="https://status.driftwood.dev/incidents/42",
        follow_up_open_reports=True,
    )
    sent(update)
    follow_ups = replies.status_update_follow_up(reply_id=update.pk)
    assert {r.ticket.requester_username for r in follow_ups} == {"maya", "li"}
    for reply in follow_ups:
        assert reply.handle.username == "DriftwoodStatus"
        sent(reply)
    status_posts = posts_by(desk, "DriftwoodStatus")
    assert len(status_posts) == 3  # the update and two threaded follow-ups
    threaded = [p for p in status_posts if p.get("referenced_tweets")]
    assert len(threaded) == 2
    for post in threaded:
        links = [u["expanded_url"] for u in post["entities"]["urls"]]
        assert links == ["https://status.driftwood.dev/incidents/42"]
        assert post["text"].endswith("Are you still experiencing issues?")
    replies.status_update_follow_up(reply_id=update.pk)
    assert Reply.objects.count() == 3, "at most one follow-up per ticket"


def test_billing_question_mentioning_both_handles_is_answered_from_main(
    mention: Callable[..., Ticket], infrastructure: User
) -> None:
    ticket = mention("omar", "@DriftwoodStatus @Driftwood why was I billed twice this month?")
    choice = replies.reply_handle_choice(ticket=ticket, user=infrastructure)
    assert choice.handle.username == "Driftwood"
    assert "several handles" in choice.reason


def test_wrong_handle_reply_is_noted_and_the_follow_up_uses_the_right_one(
    desk: SandboxServer, mention: Callable[..., Ticket], advocate: User
) -> None:
    ticket = mention("kai", "@Driftwood how do I export my issues?")
    first = ticket.posts.get().remote_id
    # Someone answered from the status handle, in the X app, outside the desk (the app is not
    # bound by the API plan's reply rule, so not through the sandbox's API door).
    desk.store.mention_add("DriftwoodStatus", "@kai use Settings > Export", in_reply_to=first)
    ingest()
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None, "a reply from outside still stops the clock"
    note = ticket.events.get(kind=TicketEvent.Kind.WRONG_HANDLE)
    assert "@DriftwoodStatus answered" in note.message and "@Driftwood" in note.message

    desk.store.mention_add(
        "kai", "@Driftwood @DriftwoodStatus thanks, where is Settings?", in_reply_to=first
    )
    ingest()
    reply = sent(replies.reply_create(ticket=ticket, author=advocate, text="Top right menu!"))
    assert reply.handle.username == "Driftwood"
    assert (
        not TicketEvent.objects.filter(ticket=ticket, kind="wrong_handle")
        .exclude(pk=note.pk)
        .exists()
    )


def test_an_answer_from_the_status_handle_is_right_once_the_ticket_is_about_availability(
    desk: SandboxServer, mention: Callable[..., Ticket], advocate: User
) -> None:
    """The handle check on ingest reads the ticket's triage label: the status handle answering
    a ticket marked as availability is the handbook's choice; on one that is not (the main
    handle's, both mentioned), it is noted as the wrong handle."""
    outage = mention("kai", "@Driftwood @DriftwoodStatus is driftwood.dev down?")
    other = mention("lou", "@Driftwood @DriftwoodStatus how do I export my issues?")
    ticket_actions.ticket_intent_set(ticket=outage, intent="availability", by=advocate)
    for ticket in (outage, other):
        desk.store.mention_add(
            "DriftwoodStatus",
            f"@{ticket.requester_username} looking into it",
            in_reply_to=ticket.posts.get().remote_id,
        )
    ingest()

    assert not outage.events.filter(kind=TicketEvent.Kind.WRONG_HANDLE).exists()
    note = other.events.get(kind=TicketEvent.Kind.WRONG_HANDLE)
    assert "@DriftwoodStatus answered" in note.message


def test_spam_report_goes_to_abuse_with_link_and_time_and_drafts_thanks(
    desk: SandboxServer,
    mention: Callable[..., Ticket],
    advocate: User,
    slack: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ticket = mention(
        "rosa",
        "@Driftwood spam bots all over your issue board again",
        expanded_urls=["https://driftwood.dev/driftwood/app/-/issues"],
    )
    with django_capture_on_commit_callbacks(execute=True):
        draft = escalations.ticket_report_spam(ticket=ticket, by=advocate)
    assert draft.startswith("Thanks for letting us know, @rosa")
    (message,) = slack.messages
    assert message.channel == slack.channel_id("abuse")
    assert "https://driftwood.dev/driftwood/app/-/issues" in message.text
    assert "UTC" in message.text and "@rosa" in message.text
    sent(replies.reply_create(ticket=ticket, author=advocate, text=draft))
    assert len(posts_by(desk, "Driftwood")) == 1


def test_praise_is_liked_and_other_posts_need_a_reason(
    desk: SandboxServer, mention: Callable[..., Ticket], advocate: User
) -> None:
    praise = mention("fan", "@Driftwood merge trains just saved my week 🙌")
    post = praise.posts.get()
    with pytest.raises(Exception, match="likes are for positive feedback"):
        replies.post_like(post=post, by=advocate)
    ticket_actions.ticket_intent_set(ticket=praise, intent="praise", by=advocate)
    action = replies.post_like(post=post, by=advocate)
    action = replies.post_action_run(action_id=action.pk)
    assert action.status == PostAction.Status.DONE
    assert {
        "user_id": desk.store.user_by_username("Driftwood")["id"],  # type: ignore[index]
        "tweet_id": post.remote_id,
    } in desk.store.likes()
    event = praise.events.get(kind=TicketEvent.Kind.LIKED)
    assert event.actor == advocate and event.data["override"] is False


def test_stream_mention_is_answered_once_even_when_two_agents_try(
    desk: SandboxServer, advocate: User, advocate2: User
) -> None:
    desk.store.mention_add("mover", "@MoveToDriftwood does the importer keep my labels?")
    ingest()
    post = Post.objects.get(author_username="mover")
    assert post.ticket is None, "stream handles do not open desk tickets"
    first = replies.stream_reply(post=post, by=advocate, text="Yes, labels come along!")
    with pytest.raises(replies.Collision, match="already on its way"):
        replies.stream_reply(post=post, by=advocate2, text="Yes they do :)")
    sent(first)
    assert len(posts_by(desk, "MoveToDriftwood")) == 1
    ticket = Ticket.objects.get()
    assert ticket.status == Ticket.Status.SOLVED
    assert not Ticket.objects.filter(status__in=("new", "open"), handle__respond_from="desk")
