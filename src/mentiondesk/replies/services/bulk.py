"""Bulk actions for leads: assign, solve or label many tickets at once, from the queue or a
search (Zendesk's "bulk update", Front's multi-select).

Each ticket goes through the same service a single action would (`ticket_assign`,
`ticket_status_set`, `ticket_intent_set`): the same rules, one audit event per ticket, the
SLA clock refreshed. This module lives on the replies floor, above tickets and actions,
because what it skips depends on replies: a ticket with a reply on its way, or one X may have
received, is not solved under the agent who is answering it.

Only people act in bulk: leads and admins, never an agent and never automation (no task,
schedule or automated reply calls this; `by` is the person who pressed the button)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from django.db import transaction

from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.core.constants import MAX_ROW_ID
from mentiondesk.core.errors import DomainError, Forbidden
from mentiondesk.core.intents import Intent
from mentiondesk.tickets import services as ticket_services
from mentiondesk.tickets.models import Ticket

from ..models import Reply

BulkAction = Literal["assign", "solve", "intent"]
BULK_ACTIONS: tuple[BulkAction, ...] = ("assign", "solve", "intent")
# A page of the queue or of search results at most: a bulk action is what a lead sees.
BULK_MAX_TICKETS = 100

# Replies whose ticket must not be solved under them: on the way, or maybe sent (a person
# decides, on the ticket page).
_IN_FLIGHT = {
    Reply.Status.QUEUED: "has a reply waiting to be sent",
    Reply.Status.SENDING: "has a reply sending",
    Reply.Status.NEEDS_ATTENTION: "has a reply that needs attention",
}


@dataclass
class BulkResult:
    """What a bulk action did: the tickets changed, and each one left alone with why."""

    action: BulkAction
    done: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        """ "12 solved, 1 skipped: #34 has a reply sending"."""
        verb = {"assign": "assigned", "solve": "solved", "intent": "labelled"}[self.action]
        text = f"{len(self.done)} {verb}"
        if self.skipped:
            reasons = "; ".join(f"#{pk} {why}" for pk, why in self.skipped)
            text += f", {len(self.skipped)} skipped: {reasons}"
        return text


def bulk_allowed(*, user: User) -> bool:
    """Leads and admins act on many tickets at once; the pages show the checkboxes to them
    alone."""
    return user.is_active and user.role in {User.Role.LEAD, User.Role.ADMIN}


@transaction.atomic
def tickets_bulk_apply(
    *,
    ticket_ids: list[int],
    action: str,
    by: User,
    assignee: User | None = None,
    intent: str = "",
) -> BulkResult:
    """Apply `action` to the tickets `ticket_ids`, each through its single-ticket service, in
    one transaction: "assign" (to `assignee`, None unassigns), "solve", or "intent" (set
    `intent`).

    Locks the tickets' rows in id order first (two leads acting on overlapping selections
    never deadlock). A ticket the per-ticket service refuses (closed, a light agent as
    assignee...) is skipped with the service's reason and its changes rolled back alone;
    "solve" also skips tickets with a reply queued, sending or needing attention; closed
    tickets and those already as asked are skipped too, so the summary counts real changes.
    Ids that are no ticket are skipped as "not found".

    Raises Forbidden (not a lead or admin), DomainError (unknown action or intent, no
    tickets, more than BULK_MAX_TICKETS)."""
    if not bulk_allowed(user=by):
        raise Forbidden("only leads and admins act on many tickets at once")
    if action not in BULK_ACTIONS:
        raise DomainError(f"unknown bulk action {action!r}", field="action")
    if action == "intent" and (not intent or intent not in Intent.values):
        raise DomainError("choose what the tickets are about", field="intent")
    ids = sorted(set(ticket_ids))
    if not ids:
        raise DomainError("select at least one ticket", field="tickets")
    if len(ids) > BULK_MAX_TICKETS:
        raise DomainError(f"select at most {BULK_MAX_TICKETS} tickets at once", field="tickets")
    result = BulkResult(action=action)  # type: ignore[arg-type]  # checked above
    # An id past the largest row id would overflow the query (SQLite): it is no ticket.
    in_range = [pk for pk in ids if 0 < pk <= MAX_ROW_ID]
    tickets = {
        t.pk: t for t in Ticket.objects.select_for_update().filter(pk__in=in_range).order_by("pk")
    }
    busy = _replies_in_flight(ticket_ids=list(tickets)) if action == "solve" else {}
    for pk in ids:
        ticket = tickets.get(pk)
        if ticket is None:
            result.skipped.append((pk, "not found"))
            continue
        why = _skip_reason(
            ticket=ticket, action=action, busy=busy.get(pk), assignee=assignee, intent=intent
        )
        if why:
            result.skipped.append((pk, why))
            continue
        try:
            if action == "assign":
                ticket_services.ticket_assign(ticket=ticket, assignee=assignee, by=by)
            elif action == "solve":
                ticket_actions.ticket_status_set(ticket=ticket, status=Ticket.Status.SOLVED, by=by)
            else:
                ticket_actions.ticket_intent_set(ticket=ticket, intent=intent, by=by)
        except DomainError as exc:
            # The service's own savepoint rolled this ticket back; the others stand.
            result.skipped.append((pk, exc.message))
            continue
        result.done.append(pk)
    return result


def _replies_in_flight(*, ticket_ids: list[int]) -> dict[int, str]:
    """Ticket id → why it is busy, for the tickets with a reply not yet settled."""
    busy: dict[int, str] = {}
    rows = Reply.objects.filter(ticket_id__in=ticket_ids, status__in=list(_IN_FLIGHT)).values_list(
        "ticket_id", "status"
    )
    for ticket_id, status in rows:
        if ticket_id is not None and (ticket_id not in busy or status == Reply.Status.SENDING):
            busy[ticket_id] = _IN_FLIGHT[Reply.Status(status)]
    return busy


def _skip_reason(
    *, ticket: Ticket, action: str, busy: str | None, assignee: User | None, intent: str
) -> str:
    """Why `ticket` is left alone ("" when it is not): the summary counts only real changes."""
    if ticket.status == Ticket.Status.CLOSED:
        return "is closed"
    if action == "solve":
        if ticket.status == Ticket.Status.SOLVED:
            return "is already solved"
        if busy:
            return busy
    if action == "assign" and ticket.assignee_id == (assignee.pk if assignee else None):
        return f"is already {assignee.username}'s" if assignee else "is already unassigned"
    # A label triage only suggested (a confidence kept) is confirmed by setting it again.
    if action == "intent" and ticket.intent == intent and ticket.intent_confidence is None:
        return f"is already labelled {Intent(intent).label}"
    return ""
