"""Ticket actions: play mode, assignment, status, notes."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.core.errors import Conflict, DomainError, Forbidden

from .models import QUEUE_STATUSES, Ticket, TicketEvent
from .selectors import view_get


def ticket_next(*, user: User, view: str = "twitter") -> Ticket | None:
    """Play mode: assign the oldest unassigned ticket of `view` to `user` and return it, or
    None when the view is empty.

    Atomic across processes: PostgreSQL skips rows another transaction has locked
    (FOR UPDATE SKIP LOCKED); SQLite runs the transaction with the write lock taken up front
    (transaction_mode IMMEDIATE), so two agents never get the same ticket.
    Raises Forbidden for users who cannot reply, DomainError for a view that is not playable."""
    if not user.can_reply:
        raise Forbidden("light agents read tickets and add notes; they do not work the queue")
    spec = view_get(slug=view)
    if not spec.playable:
        raise DomainError(f"view {view!r} cannot be played", field="view")
    with transaction.atomic():
        candidates = Ticket.objects.filter(spec.filter).filter(
            assignee__isnull=True, status__in=QUEUE_STATUSES
        )
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        ticket = candidates.order_by("created_at", "id").first()
        if ticket is None:
            return None
        ticket.assignee = user
        if ticket.status == Ticket.Status.NEW:
            ticket.status = Ticket.Status.OPEN
        ticket.save(update_fields=["assignee", "status", "updated_at"])
        TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEvent.Kind.ASSIGNED,
            actor=user,
            message=f"Assigned to {user.username} in play mode",
            data={"assignee": user.username, "view": view},
        )
    return ticket


@transaction.atomic
def ticket_assign(*, ticket: Ticket, assignee: User | None, by: User) -> Ticket:
    """Assign `ticket` to `assignee` (None unassigns).

    Advocates may take an unassigned ticket for themselves only: no cross-assigning. Leads
    and admins reassign freely. Locks the row. Raises Forbidden or Conflict."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status == Ticket.Status.CLOSED:
        raise Conflict(f"ticket #{ticket.pk} is closed")
    if not by.can_reassign:
        if not by.can_reply:
            raise Forbidden("light agents cannot take tickets")
        if assignee is None or assignee.pk != by.pk:
            raise Forbidden("only leads assign tickets to someone else")
        if ticket.assignee_id not in (None, by.pk):
            raise Conflict(f"ticket #{ticket.pk} is already assigned to {ticket.assignee}")
    if assignee is not None and not assignee.can_reply:
        raise DomainError(f"{assignee.username} is a light agent and cannot own tickets")
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    previous = ticket.assignee.username if ticket.assignee else None
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.ASSIGNED if assignee else TicketEvent.Kind.UNASSIGNED,
        actor=by,
        message=f"Assigned to {assignee.username}" if assignee else "Unassigned",
        data={"from": previous, "to": assignee.username if assignee else None},
    )
    return ticket


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
    return ticket


def ticket_note_add(*, ticket: Ticket, by: User, text: str) -> TicketEvent:
    """An internal note on the timeline; every role may add one."""
    text = text.strip()
    if not text:
        raise DomainError("a note needs some text", field="text")
    return TicketEvent.objects.create(
        ticket=ticket, kind=TicketEvent.Kind.NOTE, actor=by, message=text
    )
