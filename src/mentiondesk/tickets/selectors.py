"""Reads for tickets, already joined for the screen or endpoint that uses them."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, QuerySet

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import TIMELINE, TIMELINE_NEWEST_FIRST, Handle, Post
from mentiondesk.core.errors import DomainError, Forbidden, NotFound
from mentiondesk.policy.rules import HandleChoice
from mentiondesk.replies.models import Reply

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
            Prefetch("posts", queryset=Post.objects.select_related("handle").order_by(*TIMELINE)),
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
        .filter(author_remote_id=ticket.requester_remote_id)
        .order_by(*TIMELINE_NEWEST_FIRST)
        .first()
    )


def ticket_mentioned_handles(*, ticket: Ticket) -> list[Handle]:
    """Our active handles that the requester's first post on the ticket mentioned."""
    first = (
        Post.objects.filter(ticket=ticket, direction=Post.Direction.INBOUND)
        .order_by(*TIMELINE)
        .only("mentions")
        .first()
    )
    names = {m.lower() for m in (first.mentions if first else [])}
    return [
        h
        for h in Handle.objects.filter(network=ticket.network, is_active=True).order_by("pk")
        if h.username.lower() in names
    ]


def ticket_count_by_view() -> dict[str, int]:
    """How many tickets each view in `VIEWS` holds, in one aggregate query, keyed by slug."""
    return Ticket.objects.aggregate(
        **{slug: Count("pk", filter=view.filter) for slug, view in VIEWS.items()}
    )


def ticket_list_assignees() -> QuerySet[User]:
    """Active users who may own tickets (everyone but light agents), for a lead's reassign
    dropdown. A queryset, so a form field can validate the choice against it."""
    return (
        User.objects.filter(is_active=True).exclude(role=User.Role.LIGHT_AGENT).order_by("username")
    )


@dataclass(frozen=True)
class TicketPage:
    """Everything the ticket screen shows, read in one place for `viewer`.

    `reply_from` is the handle a reply by `viewer` goes out from (with the reason);
    `reply_blocked` says why `viewer` cannot reply ("" when they can)."""

    ticket: Ticket
    posts: list[Post]
    events: list[TicketEvent]
    unsent_replies: list[Reply]
    latest_inbound: Post | None
    reply_from: HandleChoice | None
    reply_blocked: str
    assignees: list[User]

    @property
    def replies_in_flight(self) -> bool:
        """A reply is queued or being sent: the screen keeps polling until it settles."""
        return any(
            r.status in (Reply.Status.QUEUED, Reply.Status.SENDING) for r in self.unsent_replies
        )


def ticket_get_for_page(*, ticket_id: int, viewer: User) -> TicketPage:
    """The ticket screen for `viewer`: the ticket, its conversation (posts oldest first, each
    with the reply that sent it and that reply's author), its events, the replies not sent
    yet (queued, sending, needs attention), the requester's latest post (what a reply
    threads to), the reply handle choice, and the reassign choices for leads.

    Read-only. Raises NotFound."""
    # replies.services imports this module: import at call time.
    from mentiondesk.replies.services import reply_handle_choice

    ticket = Ticket.objects.select_related("handle", "assignee").filter(pk=ticket_id).first()
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    posts = list(
        Post.objects.filter(ticket=ticket)
        .select_related("handle", "reply__author")
        .order_by(*TIMELINE)
    )
    reply_from: HandleChoice | None = None
    reply_blocked = ""
    if not viewer.can_reply:
        reply_blocked = "Light agents read tickets and add internal notes; they do not reply."
    else:
        try:
            reply_from = reply_handle_choice(ticket=ticket, user=viewer)
        except Forbidden as exc:
            reply_blocked = exc.message
    return TicketPage(
        ticket=ticket,
        posts=posts,
        events=list(ticket_events(ticket=ticket)),
        unsent_replies=list(
            Reply.objects.filter(ticket=ticket)
            .exclude(status=Reply.Status.SENT)
            .select_related("handle", "author")
            .order_by("created_at", "id")
        ),
        latest_inbound=ticket_latest_inbound(ticket=ticket),
        reply_from=reply_from,
        reply_blocked=reply_blocked,
        assignees=list(ticket_list_assignees()) if viewer.can_reassign else [],
    )
