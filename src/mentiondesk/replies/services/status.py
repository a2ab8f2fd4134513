"""Status updates: availability news posted from the status handle, by the people the policy
allows (seed: "Only the infrastructure team should be posting updates on @GitLabStatus"),
with an optional follow-up on every open ticket that reported the outage."""

from __future__ import annotations

import uuid

from django.db import transaction

from mentiondesk.accounts.models import User
from mentiondesk.channels.connectors import network_facts
from mentiondesk.channels.models import Handle
from mentiondesk.channels.selectors import handle_text_limit
from mentiondesk.core.errors import DomainError, Forbidden
from mentiondesk.core.intents import Intent
from mentiondesk.policy.selectors import policy_current
from mentiondesk.tickets import rules
from mentiondesk.tickets.models import Ticket

from ..models import Reply
from .automation import PHASE_INCIDENT
from .create import reply_create
from .outbox import reply_delivery_enqueue
from .outcome import REPLY_SENT_HOOKS
from .text import reply_text_check

# Addressed to each requester: X refuses the same text twice from one account (403 duplicate
# content), so identical follow-ups to several people would be stopped as duplicates.
FOLLOW_UP = "@{requester} we've posted an update on this: {link} Are you still experiencing issues?"


def status_update_create(
    *, by: User, text: str, incident_url: str = "", follow_up_open_reports: bool = False
) -> Reply:
    """Queue an availability update from the status handle. With `follow_up_open_reports`,
    once it is sent every open ticket marked as availability gets a reply (threaded to its
    requester's latest post, at most once) with the incident link, or the update's link, and
    the seed's question whether they are still affected.

    Raises Forbidden (not a status poster), DomainError (no status handle, bad text)."""
    if not rules.status_poster(by, policy_current().rules):
        raise Forbidden(
            "only "
            + " and ".join(policy_current().rules.status_handle_posters)
            + " users post status updates"
        )
    handle = Handle.objects.filter(role=Handle.Role.STATUS, is_active=True).order_by("pk").first()
    if handle is None:
        raise DomainError("no status handle is configured in the policy")
    text = reply_text_check(
        text=text, network=handle.network, limit=handle_text_limit(handle=handle)
    )
    if incident_url and not incident_url.startswith(("https://", "http://")):
        raise DomainError("the incident link must be an http(s) URL", field="incident_url")
    with transaction.atomic():
        reply = Reply.objects.create(
            kind=Reply.Kind.STATUS_UPDATE,
            handle=handle,
            handle_reason="Status updates go out from the status handle.",
            author=by,
            text=text,
            idempotency_key=str(uuid.uuid4()),
            purpose=incident_url,
            follow_up_open_reports=follow_up_open_reports,
        )
        transaction.on_commit(lambda: reply_delivery_enqueue(reply_id=reply.pk))
    return reply


def status_update_sent(reply: Reply) -> None:
    """Once status update `reply` is recorded sent (`reply_record_sent`, inside its
    transaction): its follow-ups after commit, when it asked for them and made a post."""
    if reply.follow_up_open_reports and reply.post is not None:
        transaction.on_commit(lambda: status_update_follow_up(reply_id=reply.pk))


# Delivery builds under this module (a follow-up is a reply, sent in turn): it calls back here.
REPLY_SENT_HOOKS[Reply.Kind.STATUS_UPDATE] = status_update_sent


def status_update_follow_up(*, reply_id: int) -> list[Reply]:
    """Reply on every open availability ticket after status update `reply_id` went out: an
    automated message of the incident phase, so only where `automated_reply_allowed` lets it
    (the requester's latest post an unanswered, confidently labelled report; no incident
    message there yet, such as the surge reply). Idempotent per ticket: the key is derived
    from the update and the ticket. Why each other ticket was skipped is kept on the update
    (`follow_up_skipped`, {ticket id: reason}) for the status page."""
    update = Reply.objects.select_related("post", "author").get(pk=reply_id)
    link = update.purpose or (update.post.url if update.post else "")
    if update.author is None:
        return []
    open_reports = (
        Ticket.objects.filter(
            intent=Intent.AVAILABILITY,
            status__in=(Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.PENDING),
        )
        .select_related("handle")
        .order_by("created_at", "id")
    )
    sent = []
    skipped: dict[str, str] = {}
    for ticket in open_reports:
        text = FOLLOW_UP.format(requester=ticket.requester_username, link=link)
        facts = network_facts(ticket.network)
        if facts.text_length(text) > handle_text_limit(handle=ticket.handle):
            skipped[str(ticket.pk)] = f"the follow-up would be too long for {facts.label}."
            continue
        try:
            sent.append(
                reply_create(
                    ticket=ticket,
                    author=update.author,
                    text=text,
                    idempotency_key=f"status-follow-up-{update.pk}-{ticket.pk}",
                    automated=True,
                    phase=PHASE_INCIDENT,
                )
            )
        except DomainError as exc:
            # Automation's manners, already answered since (collision) or closed meanwhile.
            skipped[str(ticket.pk)] = exc.message
    Reply.objects.filter(pk=update.pk).update(follow_up_skipped=skipped)
    return sent
