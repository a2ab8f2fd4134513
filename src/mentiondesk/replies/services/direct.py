"""Direct messages. Seed: "We have direct messages disabled ... but they can be used if we
first send a direct message to a user. This should only be used when the user needs to
communicate with us privately (e.g. to give a mailing address)." So the desk never answers
an inbound DM thread it did not open, and the first DM is always ours, with a reason."""

from __future__ import annotations

import uuid

from django.db import transaction

from mentiondesk.accounts.models import User
from mentiondesk.channels.constants import DMS_UNAVAILABLE
from mentiondesk.core.errors import DomainError, Forbidden
from mentiondesk.policy.selectors import policy_current
from mentiondesk.tickets.models import Ticket, TicketEvent

from ..models import Reply
from .create import reply_handle_choice
from .outbox import reply_delivery_enqueue
from .text import reply_text_check

DM_MAX_CHARS = 10_000  # API-FACTS §4


def dm_create(*, ticket: Ticket, by: User, text: str, purpose: str = "") -> Reply:
    """Queue a direct message to the ticket's requester, from the handle a reply would use.

    Raises Forbidden (light agents), DomainError (a network the desk sends no DMs on:
    `DMS_UNAVAILABLE`; no reason when the policy wants one, bad text)."""
    if not by.can_reply:
        raise Forbidden("light agents cannot send direct messages")
    if ticket.network in DMS_UNAVAILABLE:
        raise DomainError(DMS_UNAVAILABLE[ticket.network])
    purpose = purpose.strip()
    if policy_current().rules.dm_reason_required and not purpose:
        raise DomainError(
            "say why this needs a private conversation (e.g. to collect a mailing address)",
            field="purpose",
        )
    text = reply_text_check(text=text, limit=DM_MAX_CHARS, weighted=False)
    choice = reply_handle_choice(ticket=ticket, user=by, threaded=False)
    with transaction.atomic():
        reply = Reply.objects.create(
            kind=Reply.Kind.DM,
            ticket=ticket,
            handle=choice.handle,
            handle_reason=choice.reason,
            author=by,
            text=text,
            idempotency_key=str(uuid.uuid4()),
            purpose=purpose,
        )
        TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEvent.Kind.DM_QUEUED,
            actor=by,
            message=f"Direct message to @{ticket.requester_username} ({purpose or 'no reason'})",
            data={"reply": reply.pk, "purpose": purpose},
        )
        transaction.on_commit(lambda: reply_delivery_enqueue(reply_id=reply.pk))
    return reply
