"""Reads for tickets, already joined for the screen or endpoint that uses them."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import (
    Exists,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
)
from django.urls import reverse

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import (
    TIMELINE,
    TIMELINE_NEWEST_FIRST,
    Handle,
    Post,
)
from mentiondesk.core.errors import DomainError, NotFound
from mentiondesk.core.intents import Intent
from mentiondesk.triage.constants import CONTEXTS, SENTIMENTS
from mentiondesk.triage.models import TriageResult

from .constants import DEFAULT_VIEW, VIEWS, View
from .models import Ticket, TicketEvent


def view_get(*, slug: str) -> View:
    try:
        return VIEWS[slug]
    except KeyError:
        raise DomainError(
            f"unknown view {slug!r}; views: {', '.join(VIEWS)}", field="view"
        ) from None


def view_of_network(*, network: str) -> str:
    """The slug of `network`'s own playable view (X's is the Twitter view); the default view
    for a network without one."""
    return next(
        (slug for slug, v in VIEWS.items() if v.playable and v.network == network), DEFAULT_VIEW
    )


def view_landing(*, shown: list[str]) -> str:
    """The queue a person lands on among the views `shown` (slugs, in sidebar order): the
    default (Twitter) view when shown, else the first playable one, else the default."""
    if DEFAULT_VIEW in shown:
        return DEFAULT_VIEW
    return next((slug for slug in shown if VIEWS[slug].playable), DEFAULT_VIEW)


@dataclass(frozen=True)
class TriageFilter:
    """Which tickets a queue or a search keeps by their labels: `intent` is the ticket's own
    (triage's or a person's), `sentiment` and `context` those triage gave its first post.
    None keeps every ticket."""

    intent: str | None = None
    sentiment: str | None = None
    context: str | None = None

    def __post_init__(self) -> None:
        for key, value, allowed in (
            ("intent", self.intent, [v for v in Intent.values if v]),
            ("sentiment", self.sentiment, list(SENTIMENTS)),
            ("context", self.context, list(CONTEXTS)),
        ):
            if value is not None and value not in allowed:
                raise DomainError(
                    f"unknown {key} {value!r}; use one of {', '.join(allowed)}", field=key
                )

    @property
    def active(self) -> bool:
        return any((self.intent, self.sentiment, self.context))


def _first_inbound_triage() -> QuerySet[TriageResult]:
    """The triage of the outer ticket's first inbound post (oldest by TIMELINE)."""
    first = (
        Post.objects.filter(ticket=OuterRef(OuterRef("pk")), direction=Post.Direction.INBOUND)
        .order_by(*TIMELINE)
        .values("pk")[:1]
    )
    return TriageResult.objects.filter(post_id=Subquery(first))


class RowSla(NamedTuple):
    """A queue row's stored SLA state (sla.models.TicketSla's columns, for
    sla.selectors.sla_badge)."""

    target: str
    due_metric: str
    due_at: datetime | None
    warn_at: datetime | None
    paused_seconds_left: int | None
    breached_at: datetime | None


@dataclass(frozen=True, slots=True)
class QueueRow:
    """What a queue row draws (tickets/queue.html, through desk/tickets/rows.py), read as
    columns: model instances for a ticket, its handle, its assignee and its SLA state cost
    more than drawing the row. `triage_sentiment` and `triage_context` are triage's labels of
    the first inbound post (None: not triaged yet); `sla` is None without an SLA state."""

    pk: int
    network: str
    requester_username: str
    subject: str
    intent: str
    intent_confidence: float | None
    status: str
    assignee_id: int | None
    created_at: datetime
    handle_username: str
    assignee_username: str | None
    triage_sentiment: str | None
    triage_context: str | None
    sla: RowSla | None


# QueueRow's columns in its order, then RowSla's; a LEFT JOIN without an SLA state reads
# None for its never-null `target`.
_QUEUE_ROW_COLUMNS = (
    "pk",
    "network",
    "requester_username",
    "subject",
    "intent",
    "intent_confidence",
    "status",
    "assignee_id",
    "created_at",
    "handle__username",
    "assignee__username",
    "triage_sentiment",
    "triage_context",
)
_ROW_SLA_COLUMNS = tuple(f"sla__{name}" for name in RowSla._fields)


def ticket_queue_rows(qs: QuerySet[Ticket]) -> QuerySet[Ticket, tuple[Any, ...]]:
    """`qs` as the tuples `queue_rows` reads: the columns a queue row draws, with triage's
    labels of the first inbound post. Whether the intent is only triage's suggestion is
    tickets.gate's rule on `intent_confidence`, decided when drawing (the policy's threshold
    is not in the query, so a query built once stays right when the policy changes)."""
    triage = _first_inbound_triage()
    return qs.annotate(
        triage_sentiment=Subquery(triage.values("sentiment")[:1]),
        triage_context=Subquery(triage.values("context")[:1]),
    ).values_list(*_QUEUE_ROW_COLUMNS, *_ROW_SLA_COLUMNS)


def queue_rows(rows: Iterable[tuple[Any, ...]]) -> list[QueueRow]:
    """The QueueRows of `ticket_queue_rows`'s tuples."""
    n = len(_QUEUE_ROW_COLUMNS)
    return [QueueRow(*(*r[:n], None if r[n] is None else RowSla(*r[n:]))) for r in rows]


def ticket_filter_triage(qs: QuerySet[Ticket], labels: TriageFilter) -> QuerySet[Ticket]:
    """`qs` narrowed to the tickets whose labels match `labels` (see TriageFilter)."""
    if labels.intent:
        qs = qs.filter(intent=labels.intent)
    triage = _first_inbound_triage()
    if labels.sentiment:
        qs = qs.filter(Exists(triage.filter(sentiment=labels.sentiment)))
    if labels.context:
        qs = qs.filter(Exists(triage.filter(context=labels.context)))
    return qs


def ticket_list(
    *,
    view: str | None = None,
    status: str | None = None,
    assignee: User | None = None,
    labels: TriageFilter | None = None,
    viewer: User | None = None,
) -> QuerySet[Ticket]:
    """Tickets of `view` (all when None), oldest created first, with handle, assignee and
    SLA state, narrowed by their triage `labels`. A `mine` view needs its `viewer`: raises
    DomainError without one."""
    qs = Ticket.objects.select_related("handle", "assignee", "sla")
    if labels is not None and labels.active:
        qs = ticket_filter_triage(qs, labels)
    if view:
        chosen = view_get(slug=view)
        qs = qs.filter(chosen.filter)
        if chosen.mine:
            if viewer is None:
                raise DomainError(
                    f"the {view!r} view lists a signed-in user's tickets", field="view"
                )
            qs = qs.filter(assignee=viewer)
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


# How far back from the desk's newest ticket the pulse looks for a view's newest.
PULSE_WINDOW = 1_000


def ticket_view_version(*, view: str, viewer: User | None = None) -> int:
    """What the open queue page asks every second (`tickets:pulse`): the id of the newest
    ticket in `view` among the desk's newest PULSE_WINDOW, 0 when there is none. Ids only
    grow and a ticket created into a view is the desk's newest then, so it changes exactly
    when a new ticket enters the view, and the page redraws its rows then instead of at its
    next 5 s refresh. One query that walks the primary key back from the newest ticket until
    the first one in the view, at most the window (no sort, no count): 32 agents asking each
    second cost little, even on a sparse view (escalated, one person's) over a million
    tickets, which would otherwise be walked whole. What changes inside the view (assigned,
    solved, reopened) waits for the 5 s refresh."""
    newest = Subquery(Ticket.objects.order_by("-id").values("id")[:1])
    recent = ticket_list(view=view, viewer=viewer).filter(id__gt=newest - PULSE_WINDOW)
    return recent.order_by("-id").values_list("id", flat=True).first() or 0


def ticket_get(*, ticket_id: int, with_conversation: bool = True) -> Ticket:
    """One ticket with its conversation (posts, oldest first) and events, or without them
    for a write that only needs the row (its service locks and reads what it needs): two
    queries fewer. Raises NotFound."""
    qs = Ticket.objects.select_related("handle", "assignee", "sla")
    if with_conversation:
        qs = qs.prefetch_related(
            Prefetch("posts", queryset=Post.objects.select_related("handle").order_by(*TIMELINE)),
            Prefetch("events", queryset=TicketEvent.objects.select_related("actor")),
        )
    ticket = qs.filter(pk=ticket_id).first()
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


def tickets_latest_inbound(*, tickets: Iterable[Ticket]) -> dict[int, Post]:
    """`ticket_latest_inbound` for many tickets in one query, by ticket id (tickets without
    one left out)."""
    requester = {t.pk: t.requester_remote_id for t in tickets}
    latest: dict[int, Post] = {}
    posts = Post.objects.filter(
        ticket_id__in=list(requester), direction=Post.Direction.INBOUND, deleted_at=None
    ).order_by("ticket_id", *TIMELINE_NEWEST_FIRST)
    for post in posts:
        if post.ticket_id is not None and post.author_remote_id == requester[post.ticket_id]:
            latest.setdefault(post.ticket_id, post)
    return latest


def ticket_posts_since(*, ticket: Ticket, seen_post_id: str) -> list[Post]:
    """The posts of `ticket` after `seen_post_id` in the conversation's order, deleted ones
    aside: what arrived since a composer showed that post, oldest first. Empty when
    `seen_post_id` is empty or not (or no longer) among them. The one definition both the
    send's collision guard and the composer's "new post arrived" banner use, so the banner
    warns of exactly what a send would be refused for."""
    timeline = list(Post.objects.filter(ticket=ticket, deleted_at=None).order_by(*TIMELINE))
    ids = [post.remote_id for post in timeline]
    return timeline[ids.index(seen_post_id) + 1 :] if seen_post_id in ids else []


def ticket_mentioned_handles(*, ticket: Ticket) -> list[Handle]:
    """Our active handles that the requester's first post on the ticket mentioned."""
    return tickets_mentioned_handles(network=ticket.network, ticket_ids=[ticket.pk])[ticket.pk]


def tickets_mentioned_handles(
    *, network: str, ticket_ids: Iterable[int], active: Sequence[Handle] | None = None
) -> dict[int, list[Handle]]:
    """`ticket_mentioned_handles` for many tickets of `network` in two queries (ingest checks
    a page's posts of ours at once), by ticket id. `active`: `handles_active(network)`, when
    the caller has read it already (one query less)."""
    ids = set(ticket_ids)
    first: dict[int, list[str]] = {}
    inbound = (
        Post.objects.filter(ticket_id__in=ids, direction=Post.Direction.INBOUND)
        .order_by("ticket_id", *TIMELINE)
        .values_list("ticket_id", "mentions")
    )
    for ticket_id, mentions in inbound:
        first.setdefault(ticket_id, mentions or [])
    active = handles_active(network=network) if active is None else active
    return {
        ticket_id: [
            h for h in active if h.username.lower() in {m.lower() for m in first.get(ticket_id, [])}
        ]
        for ticket_id in ids
    }


def post_summoned_handles(*, post: Post) -> list[Handle]:
    """Our active handles that `post`'s author summoned in it: named in its mentions, or the
    author of a post of ours it replies to or quotes. On X's self-serve plans only these may
    reply to it through the API (API-FACTS §4; X: "not been mentioned or otherwise engaged by
    the author of the post you are replying to")."""
    return posts_summoned_handles(network=post.network, posts=[post])[post.remote_id]


def posts_summoned_handles(
    *, network: str, posts: Sequence[Post], active: Sequence[Handle] | None = None
) -> dict[str, list[Handle]]:
    """`post_summoned_handles` for many posts of `network` in two queries, by remote id.
    `active`: `handles_active(network)`, when the caller has read it already."""
    referenced: dict[str, list[str]] = {}
    for post in posts:
        refs = [post.in_reply_to_remote_id] if post.in_reply_to_remote_id else []
        refs += [
            str(ref.get("id"))
            for ref in (post.raw or {}).get("referenced_tweets", [])
            if isinstance(ref, dict) and ref.get("type") == "quoted" and ref.get("id")
        ]
        referenced[post.remote_id] = refs
    by_post = dict(
        Post.objects.filter(
            network=network,
            remote_id__in={r for refs in referenced.values() for r in refs},
            direction=Post.Direction.OUTBOUND,
            handle__isnull=False,
        ).values_list("remote_id", "handle_id")
    )
    active = handles_active(network=network) if active is None else active
    summoned: dict[str, list[Handle]] = {}
    for post in posts:
        names = {m.lower() for m in post.mentions or []}
        ours = {by_post[r] for r in referenced[post.remote_id] if r in by_post}
        summoned[post.remote_id] = [
            h for h in active if h.username.lower() in names or h.pk in ours
        ]
    return summoned


def handles_active(*, network: str) -> list[Handle]:
    """Our active handles on `network`, oldest first: those a post can mention or summon."""
    return list(Handle.objects.filter(network=network, is_active=True).order_by("pk"))


# The sidebar counts up to this many tickets per view and shows "1,000+" past it: an exact
# count reads every matching row (230 ms for "All tickets" at a million tickets, on every
# page), while a capped one reads at most this many index entries, whatever the history.
VIEW_COUNT_CAP = 1_000
# The views every user sees the same; a `mine` view's count depends on who looks.
_SHARED_VIEWS = [slug for slug, v in VIEWS.items() if not v.mine]
_MINE_VIEWS = [slug for slug, v in VIEWS.items() if v.mine]
# The networks with a view of their own: the sidebar asks whether the desk has handles there.
_VIEW_NETWORKS = [str(v.network) for v in VIEWS.values() if v.network]


@functools.cache
def _view_counts_sql(cap: int) -> tuple[str, tuple[Any, ...], tuple[str, ...]]:
    """One statement counting each shared view's first `cap + 1` tickets in queue order, so that
    PostgreSQL walks the view's own index from the oldest ticket on (without the order it
    may scan the table from its start, through every solved ticket before the first open
    one), and whether each network view's network has an active desk handle (0 or 1), keyed
    "handles:<network>" (a view's slug may be a network's name). The views are constants, so
    it is compiled once per process: compiling the sliced counts through the ORM on each page
    cost more than running them."""
    parts: list[str] = []
    params: list[Any] = []
    queries: list[QuerySet[Any]] = [ticket_list(view=slug) for slug in _SHARED_VIEWS]
    caps = [cap] * len(queries)
    for network in _VIEW_NETWORKS:
        queries.append(
            Handle.objects.filter(
                network=network, respond_from=Handle.RespondFrom.DESK, is_active=True
            )
        )
        caps.append(0)
    for qs, part_cap in zip(queries, caps, strict=True):
        part, part_params = _capped_count_sql(qs, part_cap)
        parts.append(part)
        params.extend(part_params)
    handles = (f"handles:{network}" for network in _VIEW_NETWORKS)
    return "SELECT " + ", ".join(parts), tuple(params), (*_SHARED_VIEWS, *handles)


def _capped_count_sql(qs: QuerySet[Any], cap: int) -> tuple[str, tuple[Any, ...]]:
    sql, params = qs.values("pk")[: cap + 1].query.sql_with_params()
    return f"(SELECT COUNT(*) FROM ({sql}) AS capped)", params  # noqa: S608 (compiled)


def _view_counts(*, cap: int, viewer: User | None) -> tuple[dict[str, int], set[str]]:
    """`ticket_count_by_view`'s counts and the networks with an active desk handle: one
    query."""
    sql, params, keys = _view_counts_sql(cap)
    slugs = list(keys)
    # A `mine` count names the viewer, so it is compiled on each call, into the same query.
    for slug in _MINE_VIEWS if viewer is not None else []:
        part, part_params = _capped_count_sql(ticket_list(view=slug, viewer=viewer), cap)
        sql, params = f"{sql}, {part}", (*params, *part_params)
        slugs.append(slug)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = dict(zip(slugs, cursor.fetchone(), strict=True))
    counts = {slug: row[slug] for slug in VIEWS if slug in row}
    return counts, {network for network in _VIEW_NETWORKS if row[f"handles:{network}"]}


def ticket_count_by_view(
    *, cap: int = VIEW_COUNT_CAP, viewer: User | None = None
) -> dict[str, int]:
    """How many tickets each view in `VIEWS` holds, keyed by slug; past `cap`, `cap + 1`.
    The `mine` views count `viewer`'s tickets, and are left out without a viewer. One query."""
    return _view_counts(cap=cap, viewer=viewer)[0]


def view_list_for_nav(
    *, cap: int = VIEW_COUNT_CAP, viewer: User | None = None
) -> list[tuple[View, int]]:
    """The views the sidebar shows, in `VIEWS` order, each with its count (as
    `ticket_count_by_view`). A network's view shows while the desk has an active desk handle
    on that network, or while it still holds tickets (a handle retired with tickets open);
    a team on X alone sees the Twitter view as the handbook has it, and "All networks" only
    once two network views show (with one it would repeat that one). The hidden views still
    answer by their slug (a bookmark, the API). One query."""
    counts, networks = _view_counts(cap=cap, viewer=viewer)
    network_views = {
        slug for slug, v in VIEWS.items() if v.network and (v.network in networks or counts[slug])
    }

    def shown(slug: str, view: View) -> bool:
        if view.network:
            return slug in network_views
        return len(network_views) > 1 if view.across_networks else True

    return [(v, counts[slug]) for slug, v in VIEWS.items() if slug in counts and shown(slug, v)]


def ticket_list_assignees() -> QuerySet[User]:
    """Active users who may own tickets (everyone but light agents), for a lead's reassign
    dropdown. A queryset, so a form field can validate the choice against it."""
    return (
        User.objects.filter(is_active=True).exclude(role=User.Role.LIGHT_AGENT).order_by("username")
    )


def ticket_first_inbound_triage(*, ticket: Ticket) -> TriageResult | None:
    """Triage's result for `ticket`'s first inbound post (oldest by TIMELINE), or None when
    that post was not triaged (yet) or the ticket has no inbound post. Its `intent`,
    `intent_confidence` (0..1) and `source` are triage's own label; an agent's correction is
    beside it in `corrected_intent`. Read-only; one query."""
    first = (
        Post.objects.filter(ticket=ticket, direction=Post.Direction.INBOUND)
        .order_by(*TIMELINE)
        .values("pk")[:1]
    )
    return (
        TriageResult.objects.filter(post__in=Subquery(first)).select_related("corrected_by").first()
    )


def ticket_post_get(*, ticket: Ticket, remote_id: str) -> Post:
    """One post of `ticket`'s conversation by its network id, with its ticket, handle and
    sending reply. Raises NotFound (also for a post of another ticket)."""
    post = (
        Post.objects.select_related("handle", "ticket", "ticket__handle", "reply")
        .filter(ticket=ticket, remote_id=remote_id)
        .first()
    )
    if post is None:
        raise NotFound(f"post {remote_id} is not part of ticket #{ticket.pk}")
    return post


def ticket_url(ticket: Ticket) -> str:
    """The ticket's page, absolute, for messages read outside the desk (Slack)."""
    return settings.BASE_URL + reverse("tickets:detail", kwargs={"ticket_id": ticket.pk})
