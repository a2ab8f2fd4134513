"""Reads for tickets, already joined for the screen or endpoint that uses them."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    CharField,
    Count,
    Exists,
    ExpressionWrapper,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Cast, Coalesce, Concat

from mentiondesk.accounts.models import User
from mentiondesk.channels import selectors as channel_selectors
from mentiondesk.channels.models import (
    TIMELINE,
    TIMELINE_NEWEST_FIRST,
    DirectMessage,
    Handle,
    Post,
)
from mentiondesk.core.errors import DomainError, NotFound
from mentiondesk.core.intents import Intent
from mentiondesk.integrations.slack.models import SlackMessage
from mentiondesk.integrations.slack.selectors import slack_messages_for_ticket
from mentiondesk.integrations.slack.services import slack_is_configured
from mentiondesk.policy import rules
from mentiondesk.policy.rules import HandleChoice
from mentiondesk.policy.schema import Escalation, Policy
from mentiondesk.policy.selectors import policy_current
from mentiondesk.replies import selectors as reply_selectors
from mentiondesk.replies.models import PostAction, Reply
from mentiondesk.triage.constants import CONTEXTS, SENTIMENTS
from mentiondesk.triage.gate import (
    ticket_intent_acts,
    ticket_intent_suggested,
    tickets_intent_acting,
)
from mentiondesk.triage.models import TriageResult

from .constants import VIEWS, View
from .models import Ticket, TicketEvent


def view_get(*, slug: str) -> View:
    try:
        return VIEWS[slug]
    except KeyError:
        raise DomainError(
            f"unknown view {slug!r}; views: {', '.join(VIEWS)}", field="view"
        ) from None


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


# What a queue row draws (tickets/queue.html): the rest of a ticket, its handle and its
# assignee (a user row carries a password hash) stays in the database. A field the row starts
# drawing without being named here costs a query per row, which the queue's query-count test
# catches.
QUEUE_ROW_FIELDS = (
    "requester_username",
    "subject",
    "intent",
    "intent_confidence",
    "status",
    "assignee_id",
    "created_at",
    "handle__username",
    "assignee__username",
    "sla",
)


def ticket_list_with_triage(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """`qs` with `triage_sentiment` and `triage_context` (of the first inbound post; None
    when not triaged yet) and `intent_acts` (False: the intent is triage's suggestion, see
    triage.gate), for queue rows: only the fields they draw."""
    triage = _first_inbound_triage()
    return qs.only(*QUEUE_ROW_FIELDS).annotate(
        triage_sentiment=Subquery(triage.values("sentiment")[:1]),
        triage_context=Subquery(triage.values("context")[:1]),
        intent_acts=ExpressionWrapper(tickets_intent_acting(), output_field=BooleanField()),
    )


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


@dataclass(frozen=True)
class TicketAnswer:
    """What already answers the requester's latest post: our post on the network (sent by the
    desk, the stream column, automation or any other client, however it reached us) and/or a
    desk reply queued, sending or sent to it."""

    post: Post | None
    reply: Reply | None

    @property
    def url(self) -> str:
        post = self.post or (self.reply.post if self.reply else None)
        return post.url if post is not None else ""

    def describe(self) -> list[str]:
        """Who answered and from where, one line each, for a person deciding to send again."""
        lines = []
        if self.reply is not None:
            who = self.reply.author.username if self.reply.author else "someone"
            if self.reply.status == Reply.Status.SENT:
                sent = self.reply.post
                link = f": {sent.url}" if sent is not None else ""
                lines.append(f"{who}'s reply to this post is already sent{link}.")
            else:
                lines.append(f"{who}'s reply to this post is already on its way.")
        if self.post is not None and (self.reply is None or self.reply.post_id != self.post.pk):
            lines.append(
                f"@{self.post.author_username} answered from another client: {self.post.url}"
            )
        return lines


def ticket_answer_get(*, ticket: Ticket, latest: Post | None = None) -> TicketAnswer | None:
    """The answer the requester's latest post (`latest`, looked up when not given) already has,
    or None: the one rule for "already answered", used by every door that sends.

    Answered means any post of ours not deleted after that post in the timeline (or in reply
    to it), whichever client sent it, or a desk reply to it that is queued, sending or sent
    (and whose post, once sent, still exists). A reply that needs attention is not an answer:
    it was stopped or refused. Read-only."""
    latest = latest if latest is not None else ticket_latest_inbound(ticket=ticket)
    if latest is None:
        return None
    # Through the conversation's index: a brand's own posts in a busy thread are few.
    ours = (
        Post.objects.filter(
            network=ticket.network,
            conversation_id=ticket.conversation_id,
            direction=Post.Direction.OUTBOUND,
            deleted_at=None,
            created_at__gte=latest.created_at,
        )
        .filter(Q(ticket=ticket) | Q(in_reply_to_remote_id=latest.remote_id))
        # X gives times to the second: a tie is broken by the snowflake, as in TIMELINE.
        .filter(
            Q(created_at__gt=latest.created_at)
            | Q(remote_id__gt=latest.remote_id)
            | Q(in_reply_to_remote_id=latest.remote_id)
        )
        .select_related("reply__author")
        .order_by(*TIMELINE)
        .first()
    )
    reply = (
        Reply.objects.filter(
            ticket=ticket,
            kind=Reply.Kind.REPLY,
            in_reply_to_remote_id=latest.remote_id,
            status__in=(Reply.Status.QUEUED, Reply.Status.SENDING, Reply.Status.SENT),
        )
        .exclude(post__deleted_at__isnull=False)
        .select_related("author", "post")
        .order_by("created_at", "id")
        .first()
    )
    if reply is None and ours is not None and hasattr(ours, "reply"):
        reply = ours.reply  # our post, sent by the desk: say who sent it
    if ours is None and reply is None:
        return None
    return TicketAnswer(post=ours, reply=reply)


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


def post_summoned_handles(*, post: Post) -> list[Handle]:
    """Our active handles that `post`'s author summoned in it: named in its mentions, or the
    author of a post of ours it replies to or quotes. On X's self-serve plans only these may
    reply to it through the API (API-FACTS §4; X: "not been mentioned or otherwise engaged by
    the author of the post you are replying to")."""
    names = {m.lower() for m in post.mentions or []}
    referenced = [post.in_reply_to_remote_id] if post.in_reply_to_remote_id else []
    referenced += [
        str(ref.get("id"))
        for ref in (post.raw or {}).get("referenced_tweets", [])
        if isinstance(ref, dict) and ref.get("type") == "quoted" and ref.get("id")
    ]
    ours = set(
        Post.objects.filter(
            network=post.network,
            remote_id__in=referenced,
            direction=Post.Direction.OUTBOUND,
            handle__isnull=False,
        ).values_list("handle_id", flat=True)
    )
    return [
        h
        for h in Handle.objects.filter(network=post.network, is_active=True).order_by("pk")
        if h.username.lower() in names or h.pk in ours
    ]


# The sidebar counts up to this many tickets per view and shows "1,000+" past it: an exact
# count reads every matching row (230 ms for "All tickets" at a million tickets, on every
# page), while a capped one reads at most this many index entries, whatever the history.
VIEW_COUNT_CAP = 1_000
# The views every user sees the same; a `mine` view's count depends on who looks.
_SHARED_VIEWS = [slug for slug, v in VIEWS.items() if not v.mine]
_MINE_VIEWS = [slug for slug, v in VIEWS.items() if v.mine]


@functools.cache
def _view_counts_sql(cap: int) -> tuple[str, tuple[Any, ...]]:
    """One statement counting each shared view's first `cap + 1` tickets in queue order, so that
    PostgreSQL walks the view's own index from the oldest ticket on (without the order it
    may scan the table from its start, through every solved ticket before the first open
    one). The views are constants, so it is compiled once per process: compiling the four
    sliced counts through the ORM on each page cost more than running them."""
    parts: list[str] = []
    params: list[Any] = []
    for slug in _SHARED_VIEWS:
        part, part_params = _capped_count_sql(ticket_list(view=slug), cap)
        parts.append(part)
        params.extend(part_params)
    return "SELECT " + ", ".join(parts), tuple(params)


def _capped_count_sql(qs: QuerySet[Ticket], cap: int) -> tuple[str, tuple[Any, ...]]:
    sql, params = qs.values("pk")[: cap + 1].query.sql_with_params()
    return f"(SELECT COUNT(*) FROM ({sql}) AS capped)", params  # noqa: S608 (compiled)


def ticket_count_by_view(
    *, cap: int = VIEW_COUNT_CAP, viewer: User | None = None
) -> dict[str, int]:
    """How many tickets each view in `VIEWS` holds, keyed by slug; past `cap`, `cap + 1`.
    The `mine` views count `viewer`'s tickets, and are left out without a viewer. One query."""
    sql, params = _view_counts_sql(cap)
    slugs = list(_SHARED_VIEWS)
    # A `mine` count names the viewer, so it is compiled on each call, into the same query.
    for slug in _MINE_VIEWS if viewer is not None else []:
        part, part_params = _capped_count_sql(ticket_list(view=slug, viewer=viewer), cap)
        sql, params = f"{sql}, {part}", (*params, *part_params)
        slugs.append(slug)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        counts = dict(zip(slugs, cursor.fetchone(), strict=True))
    return {slug: counts[slug] for slug in VIEWS if slug in counts}


def ticket_list_assignees() -> QuerySet[User]:
    """Active users who may own tickets (everyone but light agents), for a lead's reassign
    dropdown. A queryset, so a form field can validate the choice against it."""
    return (
        User.objects.filter(is_active=True).exclude(role=User.Role.LIGHT_AGENT).order_by("username")
    )


@dataclass(frozen=True)
class PostRow:
    """One post of a conversation or of the stream, with what the viewer may do to it.

    `like` and `delete` are the newest such action on the post (queued, done or failed);
    `like_needs_reason` mirrors `post_like`'s rule (the policy's `like_intents`) and
    `can_delete` mirrors `post_delete`'s (the reply's author or the policy's `delete_roles`),
    so the page offers what the services will accept; the services still decide."""

    post: Post
    like: PostAction | None = None
    delete: PostAction | None = None
    can_like: bool = False
    like_needs_reason: bool = True
    can_delete: bool = False
    # Stream only: our reply to this post that is not sent yet (queued, sending, or stopped).
    pending_reply: Reply | None = None


@dataclass(frozen=True)
class TicketPage:
    """Everything the ticket screen shows, read in one place for `viewer`.

    `reply_from` is the handle a reply by `viewer` goes out from (with the reason);
    `reply_blocked` says why `viewer` cannot reply ("" when they can). `rows` are the posts
    with their likes and deletes; `timeline` pairs each event with the Slack message it
    posted (escalations, spam reports, retweet suggestions), if any. `direct_messages` are
    the requester's private answers to our DMs (channels.dms), oldest first: never posts."""

    ticket: Ticket
    posts: list[Post]
    events: list[TicketEvent]
    unsent_replies: list[Reply]
    latest_inbound: Post | None
    reply_from: HandleChoice | None
    reply_blocked: str
    assignees: list[User]
    rows: list[PostRow]
    timeline: list[tuple[TicketEvent, SlackMessage | None]]
    slack_configured: bool
    escalations: tuple[Escalation, ...]
    dm_purpose_required: bool
    can_hand_back: bool
    # Triage's own label for the requester's first post (see ticket_first_inbound_triage).
    triage: TriageResult | None = None
    # The ticket's intent is triage's suggestion: it acts on nothing (triage.gate).
    intent_suggested: bool = False
    direct_messages: list[DirectMessage] = field(default_factory=list)

    @property
    def replies_in_flight(self) -> bool:
        """A reply is queued or being sent: the screen keeps polling until it settles."""
        return any(
            r.status in (Reply.Status.QUEUED, Reply.Status.SENDING) for r in self.unsent_replies
        )

    @property
    def slack_in_flight(self) -> bool:
        """A Slack message of this ticket waits for the worker: poll until it is posted."""
        return any(
            m is not None and m.status == SlackMessage.Status.QUEUED for _, m in self.timeline
        )

    @property
    def actions_in_flight(self) -> bool:
        """A like or a delete waits for the worker: poll until X has done it."""
        return any(
            a is not None and a.status == PostAction.Status.QUEUED
            for row in self.rows
            for a in (row.like, row.delete)
        )

    @property
    def seen_post_id(self) -> str:
        """The newest post shown (deleted ones aside): the composer's `seen_post_id`, so a
        send after the conversation moved on is stopped by `reply_create`."""
        shown = [p for p in self.posts if p.deleted_at is None]
        return shown[-1].remote_id if shown else ""


def ticket_get_for_page(*, ticket_id: int, viewer: User) -> TicketPage:
    """The ticket screen for `viewer`: the ticket, its conversation (posts oldest first, each
    with the reply that sent it and that reply's author, and its likes and deletes), its
    events with their Slack messages, the replies not sent yet (queued, sending, needs
    attention), the requester's latest post (what a reply threads to), the reply handle
    choice, the policy's escalation categories, the reassign choices for leads, and the
    requester's direct messages answering ours.

    Read-only. Raises NotFound."""
    # replies.services imports this module: import at call time.
    from mentiondesk.replies.services import reply_handle_choice

    ticket = Ticket.objects.select_related("handle", "assignee").filter(pk=ticket_id).first()
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    posts = list(
        Post.objects.filter(ticket=ticket)
        .select_related("handle", "reply__author", "ticket")
        .prefetch_related(_actions_prefetch())
        .order_by(*TIMELINE)
    )
    reply_from: HandleChoice | None = None
    reply_blocked = ""
    if not viewer.can_reply:
        reply_blocked = "Light agents read tickets and add internal notes; they do not reply."
    else:
        try:
            reply_from = reply_handle_choice(ticket=ticket, user=viewer)
        except DomainError as exc:  # Forbidden, or X's self-serve plan allows no handle
            reply_blocked = exc.message
    events = list(ticket_events(ticket=ticket))
    # Keyed for lookups by _slack_message_id, which is None for events without a message.
    slack: dict[int | None, SlackMessage] = {
        m.pk: m for m in slack_messages_for_ticket(ticket=ticket)
    }
    policy = policy_current()
    unsent = list(
        Reply.objects.filter(ticket=ticket)
        .exclude(status=Reply.Status.SENT)
        .select_related("handle", "author")
        .order_by("created_at", "id")
    )
    for reply in unsent:
        # What a lead can do for it, for the template: "retry", "recheck" or "".
        reply.person_action = reply_selectors.reply_person_action(reply=reply)  # type: ignore[attr-defined]
    return TicketPage(
        ticket=ticket,
        posts=posts,
        events=events,
        unsent_replies=unsent,
        latest_inbound=ticket_latest_inbound(ticket=ticket),
        reply_from=reply_from,
        reply_blocked=reply_blocked,
        assignees=list(ticket_list_assignees()) if viewer.can_reassign else [],
        rows=[_post_row(post, viewer, policy) for post in posts],
        timeline=[(e, slack.get(_slack_message_id(e))) for e in events],
        slack_configured=slack_is_configured(),
        escalations=policy.escalations,
        dm_purpose_required=policy.rules.dm_reason_required,
        can_hand_back=ticket.assignee_id is not None
        and (ticket.assignee_id == viewer.pk or viewer.role in policy.rules.reassign_roles),
        triage=ticket_first_inbound_triage(ticket=ticket),
        intent_suggested=ticket_intent_suggested(ticket=ticket, act_above=policy.triage.act_above),
        direct_messages=list(DirectMessage.objects.filter(ticket=ticket)),
    )


@dataclass(frozen=True)
class RequesterCard:
    """Who wrote the ticket, as the ticket page's card shows them: how many tickets they
    opened on this network (this one included), their latest other tickets (newest first),
    and when we last answered them in any of their tickets (None: never)."""

    username: str
    ticket_count: int
    earlier: list[Ticket]
    last_response_at: datetime | None


def requester_card_get(*, ticket: Ticket, limit: int = 5) -> RequesterCard:
    """`ticket`'s requester card. Read-only; two queries, however many tickets they have
    (through the ticket_requester index)."""
    theirs = Ticket.objects.filter(
        network=ticket.network, requester_remote_id=ticket.requester_remote_id
    )
    stats = theirs.aggregate(
        count=Count("pk", distinct=True),
        last_response_at=Max(
            "posts__created_at",
            filter=Q(posts__direction=Post.Direction.OUTBOUND, posts__deleted_at=None),
        ),
    )
    earlier = (
        theirs.exclude(pk=ticket.pk)
        .only("subject", "status", "created_at")
        .order_by("-created_at", "-id")[:limit]
    )
    return RequesterCard(
        username=ticket.requester_username,
        ticket_count=stats["count"],
        earlier=list(earlier),
        last_response_at=stats["last_response_at"],
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


@dataclass(frozen=True)
class StreamPage:
    """The stream column: the stream handles and their newest inbound posts as rows."""

    handles: list[Handle]
    rows: list[PostRow]


def stream_page_get(*, viewer: User, limit: int = 50) -> StreamPage:
    """The stream column for `viewer`: `channels.selectors.stream_posts` (newest first, with
    `is_answered`), each with its like, whether a like needs a reason, and our reply to it
    that is not sent yet. Read-only; a fixed number of queries whatever the length."""
    policy = policy_current()
    posts = list(channel_selectors.stream_posts(limit=limit))
    prefetch_related_objects(posts, _actions_prefetch())
    pending = {
        r.in_reply_to_remote_id: r
        for r in Reply.objects.filter(
            kind=Reply.Kind.REPLY, in_reply_to_remote_id__in=[p.remote_id for p in posts]
        )
        .exclude(status=Reply.Status.SENT)
        .select_related("author")
        .order_by("created_at", "id")
    }
    return StreamPage(
        handles=list(channel_selectors.stream_handles().order_by("username")),
        rows=[_post_row(p, viewer, policy, pending_reply=pending.get(p.remote_id)) for p in posts],
    )


@dataclass(frozen=True)
class StatusUpdatePage:
    """The status update screen: who may post, from which handle, and the recent updates."""

    can_post: bool
    refusal: str
    handle: Handle | None
    open_reports: int
    updates: list[Reply]

    @property
    def in_flight(self) -> bool:
        return any(u.status in (Reply.Status.QUEUED, Reply.Status.SENDING) for u in self.updates)


def status_update_page_get(*, viewer: User, limit: int = 20) -> StatusUpdatePage:
    """The status update screen for `viewer`: whether they may post (the policy's
    `status_handle_posters`, as `status_update_create` decides) and why not, the status
    handle, how many open availability tickets a follow-up would answer, and the newest
    `limit` updates with their delivery (status, post, reason) and `follow_ups` (how many
    follow-up replies each queued). Read-only."""
    policy = policy_current()
    can_post = rules.status_poster(viewer, policy.rules)
    who = " and ".join(policy.rules.status_handle_posters) or "nobody"
    # status_update_follow_up keys each follow-up "status-follow-up-<update>-<ticket>".
    key_prefix = Concat(Value("status-follow-up-"), Cast(OuterRef("pk"), CharField()), Value("-"))
    follow_ups = (
        Reply.objects.filter(kind=Reply.Kind.REPLY, idempotency_key__startswith=key_prefix)
        .order_by()
        .values("kind")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return StatusUpdatePage(
        can_post=can_post,
        refusal="" if can_post else f"Only {who} users post status updates.",
        handle=Handle.objects.filter(role=Handle.Role.STATUS, is_active=True)
        .order_by("pk")
        .first(),
        open_reports=Ticket.objects.filter(
            intent=Intent.AVAILABILITY,
            status__in=(Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.PENDING),
        ).count(),
        updates=list(
            Reply.objects.filter(kind=Reply.Kind.STATUS_UPDATE)
            .select_related("handle", "author", "post")
            .annotate(follow_ups=Coalesce(Subquery(follow_ups), 0))
            .order_by("-created_at", "-id")[:limit]
        ),
    )


def _actions_prefetch() -> Prefetch[str, QuerySet[PostAction], str]:
    return Prefetch("actions", queryset=PostAction.objects.order_by("created_at", "id"))


def _post_row(
    post: Post, viewer: User, policy: Policy, *, pending_reply: Reply | None = None
) -> PostRow:
    policy_rules = policy.rules
    actions = list(post.actions.all())
    like = next((a for a in reversed(actions) if a.kind == PostAction.Kind.LIKE), None)
    delete = next((a for a in reversed(actions) if a.kind == PostAction.Kind.DELETE), None)
    inbound = post.direction == Post.Direction.INBOUND
    ticket = post.ticket if post.ticket_id is not None else None
    # A suggestion (below [triage] act_above) unlocks no like: see triage.gate.
    acts = ticket is not None and ticket_intent_acts(
        ticket=ticket, act_above=policy.triage.act_above
    )
    intent = ticket.intent if ticket and acts else ""
    ours = post.direction == Post.Direction.OUTBOUND and post.handle_id is not None
    # Only our posts have a sending reply; asking an inbound post would cost a query.
    author_id = getattr(getattr(post, "reply", None), "author_id", None) if ours else None
    return PostRow(
        post=post,
        like=like,
        delete=delete,
        can_like=inbound
        and viewer.can_reply
        and (like is None or like.status == PostAction.Status.FAILED),
        like_needs_reason=intent not in policy_rules.like_intents,
        can_delete=ours
        and post.deleted_at is None
        and (delete is None or delete.status == PostAction.Status.FAILED)
        and (viewer.pk == author_id or viewer.role in policy_rules.delete_roles),
        pending_reply=pending_reply,
    )


def _slack_message_id(event: TicketEvent) -> int | None:
    value = event.data.get("slack_message") if isinstance(event.data, dict) else None
    return value if isinstance(value, int) else None
