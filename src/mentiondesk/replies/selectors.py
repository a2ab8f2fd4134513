from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from mentiondesk.channels.connectors import SendKey, network_facts
from mentiondesk.channels.models import TIMELINE, Post
from mentiondesk.core.errors import NotFound
from mentiondesk.tickets.models import Ticket
from mentiondesk.tickets.selectors import ticket_latest_inbound

from .models import DeliveryAttempt, Reply


def reply_get(*, reply_id: int) -> Reply:
    """One reply with its handle and sent post. Raises NotFound."""
    reply = Reply.objects.select_related("handle", "post", "author").filter(pk=reply_id).first()
    if reply is None:
        raise NotFound(f"reply {reply_id} does not exist")
    return reply


def reply_list(*, ticket: Ticket) -> QuerySet[Reply]:
    return Reply.objects.filter(ticket=ticket).select_related("handle", "post", "author")


# What the composer says of a reply's audience, by the visibility the send carries (Mastodon:
# https://docs.joinmastodon.org/entities/Status/#visibility). Public says nothing.
_AUDIENCE = {
    "direct": "This reply stays direct (visible only to @{requester} and the accounts it "
    "mentions), as the post it answers is.",
    "private": "This reply stays followers-only (visible only to @{handle}'s followers and "
    "the accounts it mentions), as the post it answers is.",
    "unlisted": "This reply stays unlisted (public, but left out of public timelines), as "
    "the post it answers is.",
}


def reply_audience(*, ticket: Ticket, parent: Post | None) -> str:
    """Who will see a reply to `parent` on `ticket`, when the network keeps the audience of
    the post a reply answers (the visibility the network's `send_keys` give the send: a
    reply to a direct Mastodon mention stays direct): a sentence for the composer, "" when
    the reply is public. Read-only, no query."""
    if parent is None:
        return ""
    keys = network_facts(ticket.network).send_keys(
        SendKey(key="", created_at=parent.created_at, seed=0, parent_raw=parent.raw or {})
    )
    template = _AUDIENCE.get(str(keys.get("visibility") or ""), "")
    return template.format(requester=ticket.requester_username, handle=ticket.handle.username)


# X answered, and the answer says no post was made.
_NOTHING_POSTED = frozenset(
    {
        DeliveryAttempt.Outcome.UNREACHABLE,
        DeliveryAttempt.Outcome.RATE_LIMITED,
        DeliveryAttempt.Outcome.REJECTED,
    }
)


def reply_may_have_left(*, reply: Reply) -> bool:
    """Whether some send of `reply` may have reached the network and no search of our
    timeline since found it missing. False means proven never sent: no request left
    (`request_started_at` unset), or X answered that it made nothing, or a complete search
    of the send's window read after it did not find the post. Read-only."""
    may = False
    for outcome, started in reply.attempts_log.order_by("pk").values_list(
        "outcome", "request_started_at"
    ):
        if outcome == DeliveryAttempt.Outcome.RECONCILED_MISSING:
            may = False
        elif started is not None and outcome not in _NOTHING_POSTED:
            may = True
    return may


def reply_stopped_by_conversation(*, reply: Reply) -> bool:
    """Whether the reply's last send stopped because the conversation moved on after it was
    queued: sending the same text again would stop again; a person writes a new reply."""
    last = reply.attempts_log.order_by("-pk").values_list("outcome", flat=True).first()
    return last == DeliveryAttempt.Outcome.STOPPED


def reply_person_action(*, reply: Reply) -> str:
    """What a lead can do for a reply waiting for a person: "retry" (proven never sent:
    services.reply_retry), "recheck" (it may be on X: services.reply_recheck searches again),
    or "" (a DM of unknown outcome, a send the conversation stopped: a person writes anew)."""
    if reply.status != Reply.Status.NEEDS_ATTENTION or reply_stopped_by_conversation(reply=reply):
        return ""
    if not reply_may_have_left(reply=reply):
        return "retry"
    return "" if reply.kind == Reply.Kind.DM else "recheck"


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
    return tickets_answer_get(latest={ticket.pk: (ticket, latest)}).get(ticket.pk)


def tickets_answer_get(*, latest: Mapping[int, tuple[Ticket, Post]]) -> dict[int, TicketAnswer]:
    """`ticket_answer_get` for many tickets in two queries (ingest asks it of a page's
    tickets at once): `latest` holds each ticket with its requester's latest post, by ticket
    id; returns the answers by ticket id, the tickets not answered left out. Read-only."""
    if not latest:
        return {}
    asked = latest.values()
    # Every candidate at once, in the timeline's order: each ticket takes the first of ours that
    # answers its latest post. Through the conversation's index: a brand's own posts in a busy
    # thread are few.
    candidates = (
        Post.objects.filter(
            network__in={t.network for t, _ in asked},
            conversation_id__in={t.conversation_id for t, _ in asked},
            direction=Post.Direction.OUTBOUND,
            deleted_at=None,
            created_at__gte=min(p.created_at for _, p in asked),
        )
        .filter(
            Q(ticket__in=list(latest))
            | Q(in_reply_to_remote_id__in={p.remote_id for _, p in asked})
        )
        .select_related("reply__author")
        .order_by(*TIMELINE)
    )
    in_conversation: dict[tuple[str, str], list[tuple[Ticket, Post]]] = {}
    for ticket, first in asked:
        in_conversation.setdefault((ticket.network, ticket.conversation_id), []).append(
            (ticket, first)
        )
    ours: dict[int, Post] = {}
    for post in candidates:
        for ticket, first in in_conversation.get((post.network, post.conversation_id), []):
            if ticket.pk not in ours and _answers(post, ticket=ticket, latest=first):
                ours[ticket.pk] = post
    replies: dict[int, Reply] = {}
    queued = (
        Reply.objects.filter(
            ticket__in=list(latest),
            kind=Reply.Kind.REPLY,
            in_reply_to_remote_id__in={p.remote_id for _, p in asked},
            status__in=(Reply.Status.QUEUED, Reply.Status.SENDING, Reply.Status.SENT),
        )
        .exclude(post__deleted_at__isnull=False)
        .select_related("author", "post")
        .order_by("created_at", "id")
    )
    for queued_reply in queued:
        ticket_id = queued_reply.ticket_id
        if ticket_id is None or ticket_id in replies:
            continue
        if queued_reply.in_reply_to_remote_id == latest[ticket_id][1].remote_id:
            replies[ticket_id] = queued_reply
    found: dict[int, TicketAnswer] = {}
    for pk in latest:
        answer_post = ours.get(pk)
        answer_reply: Reply | None = replies.get(pk)
        if answer_reply is None and answer_post is not None and hasattr(answer_post, "reply"):
            answer_reply = answer_post.reply  # our post, sent by the desk: say who sent it
        if answer_post is not None or answer_reply is not None:
            found[pk] = TicketAnswer(post=answer_post, reply=answer_reply)
    return found


def _answers(post: Post, *, ticket: Ticket, latest: Post) -> bool:
    """Whether our `post` answers `latest`, the latest post of `ticket`'s requester: later in
    the conversation and filed on the ticket, or in reply to it. X gives times to the second:
    a tie is broken by the snowflake, as in TIMELINE."""
    return (
        post.network == ticket.network
        and post.conversation_id == ticket.conversation_id
        and post.created_at >= latest.created_at
        and (post.ticket_id == ticket.pk or post.in_reply_to_remote_id == latest.remote_id)
        and (
            post.created_at > latest.created_at
            or post.remote_id > latest.remote_id
            or post.in_reply_to_remote_id == latest.remote_id
        )
    )
