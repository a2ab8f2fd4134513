"""Ticket actions whose SLA clock follows at once: a status or intent change refreshes the
ticket's clocks (pauses, stops, new targets) in the same transaction."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import TIMELINE, Post
from mentiondesk.core.errors import Conflict, DomainError, Forbidden
from mentiondesk.core.intents import Intent
from mentiondesk.sla import services as sla_services
from mentiondesk.tickets.models import Ticket, TicketEvent
from mentiondesk.triage import services as triage_services
from mentiondesk.triage.models import TriageResult


@transaction.atomic
def ticket_status_set(*, ticket: Ticket, status: str, by: User) -> Ticket:
    """Move `ticket` to `status` (open, pending, solved, closed). Light agents cannot."""
    if status not in Ticket.Status.values or status == Ticket.Status.NEW:
        raise DomainError(f"cannot set status {status!r}", field="status")
    if not by.can_reply:
        raise Forbidden("light agents cannot change a ticket's status")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status == status:
        return ticket
    if ticket.status == Ticket.Status.CLOSED:
        raise Conflict(f"ticket #{ticket.pk} is closed")
    previous = ticket.status
    ticket.status = status
    ticket.solved_at = timezone.now() if status == Ticket.Status.SOLVED else None
    ticket.save(update_fields=["status", "solved_at", "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.STATUS_CHANGED,
        actor=by,
        message=f"{previous} → {status}",
        data={"from": previous, "to": status},
    )
    sla_services.tickets_sla_refresh(ticket_ids=[ticket.pk])
    return ticket


@transaction.atomic
def ticket_intent_set(*, ticket: Ticket, intent: str, by: User) -> Ticket:
    """Label what the ticket is about (availability, praise, ...). Decides the reply handle
    and whether a like is allowed. Light agents cannot.

    When triage labelled the requester's first post, the label is also kept as a correction
    of triage (`triage_correct`: labelled data for `mentiondesk triage export`), and the
    event says what triage had said. A person's label always acts (`tickets.gate`), so
    confirming triage's suggestion (the same intent) makes it act."""
    if intent not in Intent.values:
        raise DomainError(
            f"unknown intent {intent!r}; use one of {', '.join(v for v in Intent.values if v)}",
            field="intent",
        )
    if not by.can_reply:
        raise Forbidden("light agents cannot label tickets")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.intent == intent and ticket.intent_confidence is None:
        return ticket
    previous = ticket.intent
    ticket.intent, ticket.intent_confidence = intent, None
    ticket.save(update_fields=["intent", "intent_confidence", "updated_at"])
    verb = "Confirmed as" if previous == intent else "Marked as"
    message = f"{verb} {Intent(intent).label}"
    data: dict[str, object] = {"from": previous, "to": intent}
    corrected = _triage_correct_first_post(ticket=ticket, intent=intent, by=by)
    if corrected is not None:
        message += f" (triage said {Intent(corrected.intent).label})"
        data["triage"] = {"intent": corrected.intent, "post": corrected.post_id}
    TicketEvent.objects.create(
        ticket=ticket, kind=TicketEvent.Kind.INTENT_SET, actor=by, message=message, data=data
    )
    sla_services.tickets_sla_refresh(ticket_ids=[ticket.pk])  # targets follow the intent
    return ticket


def _triage_correct_first_post(*, ticket: Ticket, intent: str, by: User) -> TriageResult | None:
    """Keep a person's label as a correction of triage's label for the first inbound post
    (triaging it first if it never was); None when there is no inbound post or the label is
    "not triaged"."""
    first = (
        Post.objects.filter(ticket=ticket, direction=Post.Direction.INBOUND)
        .order_by(*TIMELINE)
        .first()
    )
    if first is None or not intent:
        return None
    return triage_services.triage_correct(post=first, intent=intent, by=by)
