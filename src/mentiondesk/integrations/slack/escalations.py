"""What the desk asks of people in Slack about a ticket: an escalation to the experts of a
category (also when a ticket is handed back), a spam report to the abuse channel, a retweet
suggestion to the social team. Each posts through the Slack outbox and records a ticket
event. Above tickets and sla, beside the Slack client, so tickets' services never import
Slack."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Post
from mentiondesk.core.errors import DomainError, Forbidden
from mentiondesk.policy.selectors import policy_current
from mentiondesk.sla import services as sla_services
from mentiondesk.tickets.models import Ticket, TicketEvent
from mentiondesk.tickets.selectors import ticket_url
from mentiondesk.tickets.services import user_can_reassign

from . import services as slack


def ticket_hand_back(*, ticket: Ticket, by: User, reason: str, category: str) -> Ticket:
    """Give a ticket back to the queue: only with a reason and an escalation to the experts
    of `category` (seed: "ask in the appropriate chat channel if you don't know how to answer
    it"). The ticket keeps its place at the head of the queue; the caller's own Play skips it.

    Raises Forbidden (not the assignee, nor a lead), DomainError (no reason, unknown
    category), SlackUnavailable (the escalation cannot be posted)."""
    reason = reason.strip()
    if not reason:
        raise DomainError("say why you are handing the ticket back", field="reason")
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.assignee_id != by.pk and not user_can_reassign(by):
            raise Forbidden("only the ticket's assignee or a lead hands it back")
        ticket_escalate(ticket=locked, by=by, category=category, note=reason)
        locked.assignee = None
        locked.save(update_fields=["assignee", "updated_at"])
        TicketEvent.objects.create(
            ticket=locked,
            kind=TicketEvent.Kind.HANDED_BACK,
            actor=by,
            message=reason,
            data={"category": category},
        )
    return locked


def ticket_escalate(*, ticket: Ticket, by: User, category: str, note: str = "") -> TicketEvent:
    """Ask the experts of `category` in Slack: the ticket's link, text, requester and age go
    to the channel the policy names; the ticket is marked escalated and keeps its place.

    Raises DomainError (unknown category), SlackUnavailable."""
    policy = policy_current()
    escalation = policy.escalation(category)
    if escalation is None:
        known = ", ".join(e.category for e in policy.escalations)
        raise DomainError(f"unknown escalation {category!r}; use one of {known}", field="category")
    channel = policy.channel_for(escalation.channel)
    first = ticket.posts.filter(direction=Post.Direction.INBOUND).order_by("created_at").first()
    age = _age(timezone.now() - ticket.created_at)
    text = (
        f"{escalation.label}: can someone help with ticket #{ticket.pk} from "
        f"@{ticket.requester_username} to @{ticket.handle.username} (waiting {age})?\n"
        f"> {first.text if first else ticket.subject}\n"
        f"{ticket_url(ticket)}" + (f"\n{by.username}: {note}" if note else "")
    )
    with transaction.atomic():
        message = slack.slack_message_enqueue(
            channel=channel.slack, text=text, purpose="escalation", ticket=ticket, by=by
        )
        Ticket.objects.filter(pk=ticket.pk).update(escalated_at=timezone.now())
        sla_services.tickets_sla_refresh(ticket_ids=[ticket.pk])  # escalated: high priority
        return TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEvent.Kind.ESCALATED,
            actor=by,
            message=f"Asked {channel.slack}" + (f": {note}" if note else ""),
            data={"category": category, "channel": channel.slack, "slack_message": message.pk},
        )


def ticket_report_spam(*, ticket: Ticket, by: User, reported_url: str = "") -> str:
    """Seed: post the spam report to the abuse channel "with a link to the issue board and
    the timing of the spam report", then thank the user. Returns the thank-you draft.

    Raises Forbidden (light agents), SlackUnavailable."""
    if not by.can_reply:
        raise Forbidden("light agents cannot report spam; add a note for an advocate")
    policy = policy_current()
    channel = policy.channel_for(policy.rules.spam_report_channel)
    report = ticket.posts.filter(direction=Post.Direction.INBOUND).order_by("created_at").first()
    links = [u.get("expanded_url", "") for u in (report.urls if report else [])]
    where = reported_url or next((link for link in links if link), "") or "(no link given)"
    when = report.created_at if report else ticket.created_at
    text = (
        f"Spam reported by @{ticket.requester_username} at {when:%Y-%m-%d %H:%M} UTC: {where}\n"
        f"{report.url if report else ''} (desk: {ticket_url(ticket)})"
    )
    with transaction.atomic():
        message = slack.slack_message_enqueue(
            channel=channel.slack, text=text, purpose="spam_report", ticket=ticket, by=by
        )
        TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEvent.Kind.SPAM_REPORTED,
            actor=by,
            message=f"Reported to {channel.slack}: {where}",
            data={"channel": channel.slack, "slack_message": message.pk, "url": where},
        )
    return (
        f"Thanks for letting us know, @{ticket.requester_username}! We've passed this on to "
        "our team to take care of it."
    )


def post_suggest_retweet(*, post: Post, by: User, note: str = "") -> TicketEvent | None:
    """Seed: "Advocates shouldn't retweet ... paste the tweet in #social_media for the social
    team to review." There is no retweet action; this is the only way. Raises
    SlackUnavailable."""
    policy = policy_current()
    channel = policy.channel_for(policy.rules.retweet_suggestion_channel)
    text = f"Retweet candidate from {by.username}: {post.url}\n> {post.text}" + (
        f"\n{note}" if note else ""
    )
    with transaction.atomic():
        message = slack.slack_message_enqueue(
            channel=channel.slack,
            text=text,
            purpose="retweet_suggestion",
            ticket=post.ticket,
            by=by,
        )
        if post.ticket is None:
            return None
        return TicketEvent.objects.create(
            ticket=post.ticket,
            kind=TicketEvent.Kind.RETWEET_SUGGESTED,
            actor=by,
            message=f"Suggested {post.url} to {channel.slack}",
            data={"channel": channel.slack, "slack_message": message.pk, "post": post.remote_id},
        )


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 60 * 48:
        return f"{minutes // 60}h"
    return f"{minutes // (60 * 24)}d"
