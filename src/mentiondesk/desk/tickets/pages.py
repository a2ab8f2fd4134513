"""The ticket page, the stream column and the status-update page, each assembled in one read
from the tickets, replies, triage and Slack they show (moved up from tickets/selectors.py:
the page needs the apps above tickets)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import (
    CharField,
    Count,
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
from mentiondesk.channels.connectors import network_facts
from mentiondesk.channels.constants import DMS_UNAVAILABLE
from mentiondesk.channels.models import (
    TIMELINE,
    DirectMessage,
    Handle,
    Post,
)
from mentiondesk.core.errors import DomainError, NotFound
from mentiondesk.core.intents import Intent
from mentiondesk.integrations.previews.models import LinkPreview
from mentiondesk.integrations.previews.selectors import link_previews_shown
from mentiondesk.integrations.slack.models import SlackMessage
from mentiondesk.integrations.slack.selectors import slack_messages_for_ticket
from mentiondesk.integrations.slack.services import slack_is_configured
from mentiondesk.policy.schema import Policy
from mentiondesk.policy.schema.slack import Escalation
from mentiondesk.policy.selectors import policy_current
from mentiondesk.replies import selectors as reply_selectors
from mentiondesk.replies.models import PostAction, Reply
from mentiondesk.replies.services import reply_handle_choice
from mentiondesk.tickets import rules
from mentiondesk.tickets.gate import (
    ticket_intent_acts,
    ticket_intent_suggested,
)
from mentiondesk.tickets.models import Ticket, TicketEvent
from mentiondesk.tickets.rules import HandleChoice
from mentiondesk.tickets.selectors import (
    ticket_events,
    ticket_first_inbound_triage,
    ticket_latest_inbound,
    ticket_list_assignees,
)
from mentiondesk.triage.models import TriageResult


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
    # Stream only: the reply composer counts as `reply_create` will, against the limit of the
    # handle it answers from (channels.selectors.handle_text_limit) by the network's rule.
    reply_limit: int = 0
    length_rule: str = ""
    # The pages its links lead to (title and site), fetched by the worker: what a short link
    # hides, seen before visiting it.
    previews: tuple[LinkPreview, ...] = ()


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
    # The ticket's intent is triage's suggestion: it acts on nothing (tickets.gate).
    intent_suggested: bool = False
    direct_messages: list[DirectMessage] = field(default_factory=list)
    # Who sees the reply when it is not public (a direct Mastodon mention's stays direct).
    reply_audience: str = ""
    # Why the desk sends no direct message on the ticket's network ("" when it does).
    dm_unavailable: str = ""

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
    with the reply that sent it and that reply's author, its likes and deletes, and the pages
    its links lead to), its events with their Slack messages, the replies not sent yet
    (queued, sending, needs attention), the requester's latest post (what a reply threads
    to), the reply handle choice, the policy's escalation categories, the reassign choices for
    leads, and the requester's direct messages answering ours.

    Read-only. Raises NotFound."""
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
    latest_inbound = ticket_latest_inbound(ticket=ticket)
    previews = link_previews_shown(posts=posts)
    return TicketPage(
        ticket=ticket,
        posts=posts,
        events=events,
        unsent_replies=unsent,
        latest_inbound=latest_inbound,
        reply_from=reply_from,
        reply_blocked=reply_blocked,
        assignees=list(ticket_list_assignees()) if viewer.can_reassign else [],
        rows=[_post_row(p, viewer, policy, previews=previews.get(p.pk, ())) for p in posts],
        timeline=[(e, slack.get(_slack_message_id(e))) for e in events],
        slack_configured=slack_is_configured(),
        escalations=policy.escalations,
        dm_purpose_required=policy.rules.dm_reason_required,
        can_hand_back=ticket.assignee_id is not None
        and (ticket.assignee_id == viewer.pk or viewer.role in policy.rules.reassign_roles),
        triage=ticket_first_inbound_triage(ticket=ticket),
        intent_suggested=ticket_intent_suggested(ticket=ticket, act_above=policy.triage.act_above),
        direct_messages=list(DirectMessage.objects.filter(ticket=ticket)),
        reply_audience=reply_selectors.reply_audience(ticket=ticket, parent=latest_inbound),
        dm_unavailable=DMS_UNAVAILABLE.get(ticket.network, ""),
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
    previews = link_previews_shown(posts=posts)
    return StreamPage(
        handles=list(channel_selectors.stream_handles().order_by("username")),
        rows=[
            _post_row(
                p,
                viewer,
                policy,
                pending_reply=pending.get(p.remote_id),
                previews=previews.get(p.pk, ()),
                **_stream_composer(p),
            )
            for p in posts
        ],
    )


def _stream_composer(post: Post) -> dict[str, Any]:
    """The composer's limit and length rule for answering stream `post`: from its ticket's
    handle (`stream_reply` answers on the ticket), or the handle that heard it before it has
    one."""
    handle = post.ticket.handle if post.ticket is not None else post.handle
    facts = network_facts(post.network)
    # No handle at all only once it was deleted: then there is no server's word either.
    limit = channel_selectors.handle_text_limit(handle=handle) if handle else facts.text_limit
    return {"reply_limit": limit, "length_rule": facts.length_counter}


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
    post: Post,
    viewer: User,
    policy: Policy,
    *,
    pending_reply: Reply | None = None,
    reply_limit: int = 0,
    length_rule: str = "",
    previews: Iterable[LinkPreview] = (),
) -> PostRow:
    policy_rules = policy.rules
    actions = list(post.actions.all())
    like = next((a for a in reversed(actions) if a.kind == PostAction.Kind.LIKE), None)
    delete = next((a for a in reversed(actions) if a.kind == PostAction.Kind.DELETE), None)
    inbound = post.direction == Post.Direction.INBOUND
    ticket = post.ticket if post.ticket_id is not None else None
    # A suggestion (below [triage] act_above) unlocks no like: see tickets.gate.
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
        reply_limit=reply_limit,
        length_rule=length_rule,
        previews=tuple(previews),
    )


def _slack_message_id(event: TicketEvent) -> int | None:
    value = event.data.get("slack_message") if isinstance(event.data, dict) else None
    return value if isinstance(value, int) else None
