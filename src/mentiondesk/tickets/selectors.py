"""Reads for tickets, already joined for the screen or endpoint that uses them."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Post
from mentiondesk.core.errors import DomainError, NotFound

from .constants import VIEWS, View
from .models import Ticket, TicketEvent


def view_get(*, slug: str) -> View:
    try:
        return VIEWS[slug]
    except KeyError:
        raise DomainError(
            f"unknown view {slug!r}; views: {', '.join(VIEWS)}", field="view"
        ) from None


def ticket_list(
    *,
    view: str | None = None,
    status: str | None = None,
    assignee: User | None = None,
) -> QuerySet[Ticket]:
    """Tickets of `view` (all when None), oldest created first, with handle and assignee."""
    qs = Ticket.objects.select_related("handle", "assignee")
    if view:
        qs = qs.filter(view_get(slug=view).filter)
    if status:
        if status not in Ticket.Status.values:
            raise DomainError(
                f"unknown status {status!r}; use one of {', '.join(Ticket.Status.values)}",
                field="status",
            )
        qs = qs.filter(status=status)
    if assignee is not None:
        qs = qs.filter(assignee=assignee)
    return qs.order_by("created_at", "id")


def ticket_get(*, ticket_id: int) -> Ticket:
    """One ticket with its conversation (posts, oldest first) and events. Raises NotFound."""
    ticket = (
        Ticket.objects.select_related("handle", "assignee")
        .prefetch_related(
            Prefetch(
                "posts", queryset=Post.objects.select_related("handle").order_by("created_at", "id")
            ),
            Prefetch("events", queryset=TicketEvent.objects.select_related("actor")),
        )
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    return ticket


def ticket_events(*, ticket: Ticket) -> QuerySet[TicketEvent]:
    return (
        TicketEvent.objects.filter(ticket=ticket)
        .select_related("actor")
        .order_by("created_at", "id")
    )


def ticket_latest_inbound(*, ticket: Ticket) -> Post | None:
    """The requester's newest post on the ticket: what a reply threads to."""
    return (
        Post.objects.filter(ticket=ticket, direction=Post.Direction.INBOUND, deleted_at=None)
        .exclude(author_remote_id="")
        .filter(author_remote_id=ticket.requester_remote_id)
        .order_by("-created_at", "-id")
        .first()
    )
