"""The poll: each handle's mentions and own timeline, stored as posts, follow-ups and tickets."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from mentiondesk.channels import paging
from mentiondesk.channels import selectors as channel_selectors
from mentiondesk.channels.connectors import network_facts
from mentiondesk.channels.connectors.base import (
    Connector,
    ConnectorError,
    DmReader,
    PayloadProblem,
    PostPage,
    RemotePost,
)
from mentiondesk.channels.models import Handle, IngestProblem, Post
from mentiondesk.channels.services import (
    handle_connection,
    handle_resolve_remote_id,
    handle_text_limit_learn,
)
from mentiondesk.core import rows
from mentiondesk.core.errors import DomainError
from mentiondesk.costs.services import UsageMeter
from mentiondesk.replies import selectors as reply_selectors
from mentiondesk.sla import services as sla_services
from mentiondesk.tickets import answers, rules
from mentiondesk.tickets import services as ticket_services
from mentiondesk.tickets.models import ACTIVE_STATUSES, QUEUE_STATUSES, Ticket, TicketEvent

from . import dms, enrich, placement, rule

logger = logging.getLogger(__name__)

# How far above a page's posts `_parents` climbs through our own posts, and ids per lookup.
PARENT_LEVELS = 3
MAX_LOOKUP = 100


@dataclass
class IngestResult:
    """What one pass stored for one handle, for `mentiondesk poll` and the logs."""

    handle: str
    stored: int = 0
    duplicates: int = 0
    tickets_created: int = 0
    follow_ups: int = 0
    outbound: int = 0
    problems: int = 0
    error: str = ""
    ticket_ids: list[int] = field(default_factory=list)

    def merge(self, other: IngestResult) -> None:
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.tickets_created += other.tickets_created
        self.follow_ups += other.follow_ups
        self.outbound += other.outbound
        self.problems += other.problems
        self.ticket_ids.extend(other.ticket_ids)


def handle_poll(*, handle: Handle, connector: Connector | None = None) -> IngestResult:
    """One ingestion pass for `handle`: every mention newer than its checkpoint, then our own
    timeline back far enough to see every answer we gave from outside the desk.

    Both reads page newest first. Each page is stored in its own transaction; a checkpoint
    moves to the read's newest id only in the transaction of its last page, and until then
    each page records where the read is (`resume_*`, `own_resume_*`), so a pass cut short by
    a rate limit or a crash goes on from the next page: a backlog longer than one rate-limit
    window still drains. The unique remote ids absorb anything read twice. Connector errors
    end the pass with `error` set; nothing stored so far is lost."""
    result = IngestResult(handle=handle.username)
    try:
        meter = UsageMeter(handle=handle)
        with handle_connection(handle=handle, meter=meter, connector=connector) as x:
            handle_resolve_remote_id(handle=handle, connector=x)
            handle_text_limit_learn(handle=handle, connector=x)

            def mentions_page(token: str | None) -> PostPage:
                return x.mentions(
                    handle.remote_id, since_id=handle.since_id or None, pagination_token=token
                )

            def mentions_keep(page: PostPage, newest: str, token: str | None) -> None:
                stored = mentions_store(
                    handle=handle,
                    posts=page.posts,
                    context=_parents(handle=handle, page=page, connector=x),
                    problems=page.problems,
                    checkpoint=None if token else newest,
                    resume=(newest, token) if token else ("", ""),
                )
                result.merge(stored)

            paging.pages_read(
                fetch=mentions_page,
                keep=mentions_keep,
                resume=(handle.resume_newest_id, handle.resume_token),
            )
            # Our own timeline: replies sent from the X app attach to their tickets even when
            # they mention none of the handles we watch. Read back to the checkpoint, and no
            # further than the oldest ticket not solved: an older post of ours answers nothing
            # that is still open. With neither, the newest page sets the checkpoint.
            start_time = _timeline_floor(handle=handle)

            def own_page(token: str | None) -> PostPage:
                return x.user_posts(
                    handle.remote_id,
                    since_id=handle.own_since_id or None,
                    start_time=start_time,
                    pagination_token=token,
                )

            def own_keep(page: PostPage, newest: str, token: str | None) -> None:
                stored = mentions_store(
                    handle=handle,
                    posts=page.posts,
                    # What our posts answer: whom a reply answers is read from its thread.
                    context=_parents(handle=handle, page=page, connector=x),
                    problems=page.problems,
                    own_checkpoint=None if token else newest,
                    own_resume=(newest, token) if token else ("", ""),
                )
                result.merge(stored)

            bounded = bool(start_time or handle.own_since_id)
            paging.pages_read(
                fetch=own_page,
                keep=own_keep,
                resume=(handle.own_resume_newest_id, handle.own_resume_token),
                last=None if bounded else lambda page: True,
            )
            # The requesters' answers to our direct messages (channels.dms), resumable alike;
            # only where the network's DMs are read (a Mastodon DM is a direct mention, read
            # above; Bluesky's chat is another service).
            if network_facts(handle.network).reads_dms and isinstance(x, DmReader):
                dm_read = dms.handle_dms_read(handle=handle, connector=x)
                result.follow_ups += dm_read.follow_ups
    except (ConnectorError, DomainError) as exc:
        result.error = str(exc)
        logger.warning("poll @%s stopped: %s", handle.username, exc)
    return result


def _timeline_floor(*, handle: Handle) -> datetime | None:
    """When the oldest ticket on `handle`'s network whose answers may still change started
    (new, open or pending: a pending ticket's earliest answer may be a post of ours not read
    yet), a second early (X's times are whole seconds); None when there is none."""
    starts = [
        Ticket.objects.filter(network=handle.network, status=status)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
        for status in (Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.PENDING)
    ]
    oldest = min(filter(None, starts), default=None)
    return oldest - timedelta(seconds=1) if oldest else None


def _parents(*, handle: Handle, page: PostPage, connector: Connector) -> list[RemotePost]:
    """The posts this page replies to, for context on the ticket and for the ticket rule
    (whom our reply answers is found by climbing its thread): from `includes.tweets`, and
    through GET /2/tweets for those X left out and we do not have yet. Above a post of ours,
    its own parent is looked up too, a few levels at most (one lookup each), so a reply to
    our reply reaches the requester we answered."""
    parents = dict(page.included)
    ours = set(our_handles_by_id(network=handle.network))
    known = {p.remote_id for p in page.posts}
    climbing = list(page.posts)
    for _ in range(PARENT_LEVELS):
        wanted = {p.in_reply_to_id for p in climbing if p.in_reply_to_id} - known - set(parents)
        if wanted:
            stored = Post.objects.filter(network=handle.network, remote_id__in=wanted)
            wanted -= set(stored.values_list("remote_id", flat=True))
        if wanted:
            try:
                # Deleted or protected parents come back as errors[]: they are simply not there.
                found = connector.posts_lookup(sorted(wanted)[:MAX_LOOKUP])
                parents.update((p.remote_id, p) for p in found.posts)
            except ConnectorError as exc:
                logger.info("parents of @%s's posts not fetched: %s", handle.username, exc)
                break
        known |= {p.in_reply_to_id for p in climbing if p.in_reply_to_id}
        climbing = [p for p in parents.values() if p.author_id in ours and p.remote_id in known]
        climbing = [p for p in climbing if p.in_reply_to_id and p.in_reply_to_id not in known]
        if not climbing:
            break
    return list(parents.values())


def mentions_poll_all(*, networks: Iterable[str] | None = None) -> list[IngestResult]:
    """One pass over every active handle that creates tickets or feeds a stream (on
    `networks` only, when given)."""
    handles = channel_selectors.handles_polled()
    if networks is not None:
        handles = handles.filter(network__in=list(networks))
    return [handle_poll(handle=handle) for handle in handles]


def mentions_poll_due() -> list[IngestResult]:
    """One pass over the handles whose poll interval has run out (the worker's periodic job:
    each handle at its own pace, `channel_selectors.handle_poll_interval`)."""
    due = channel_selectors.handles_poll_due(now=timezone.now())
    return [handle_poll(handle=handle) for handle in due]


@transaction.atomic
def mentions_store(
    *,
    handle: Handle,
    posts: Iterable[RemotePost],
    context: Iterable[RemotePost] = (),
    problems: Iterable[PayloadProblem] = (),
    checkpoint: str | None = None,
    own_checkpoint: str | None = None,
    resume: tuple[str, str] | None = None,
    own_resume: tuple[str, str] | None = None,
) -> IngestResult:
    """Store one page of mentions found by `handle` and turn them into tickets.

    Idempotent: posts already stored (same network and remote id) are skipped. Inbound posts
    join the active ticket of their requester's conversation (reopening a solved one) or open
    a new ticket; our own posts never open tickets. `context` posts (the parents the page
    replies to) are stored on the ticket of their conversation without opening one. Items the
    connector could not parse are kept as IngestProblem rows. A post that mentions only
    handles without `auto_ticket` (stream handles) is stored without a ticket, for the stream
    column. Writes `checkpoint` (mentions), `own_checkpoint` (our timeline), `resume` and
    `own_resume` (each read's newest id and next page, see handle_poll) to the handle in the
    same transaction."""
    result = IngestResult(handle=handle.username)
    network = handle.network
    now = timezone.now()

    problem_rows = [
        IngestProblem(
            handle=handle,
            endpoint=network_facts(network).mentions_endpoint,
            reason=p.reason,
            raw=p.raw,
        )
        for p in problems
    ]
    if problem_rows:
        rows.rows_insert(problem_rows)
        result.problems = len(problem_rows)

    posts, context = _conversations_known(network=network, posts=list(posts), context=list(context))
    unique = {p.remote_id: p for p in sorted(posts, key=lambda p: (p.created_at, p.remote_id))}
    stored = Post.objects.filter(network=network, remote_id__in=list(unique)).values_list(
        "remote_id",
        "direction",
        "author_remote_id",
        "ticket__requester_remote_id",
        "ticket_id",
        "ticket__last_inbound_at",
    )
    # A customer's post stored earlier only as context (the parent of a newer post, read first
    # in a backlog read newest first) still opens or joins its author's ticket now; one stored
    # on its author's ticket still starts it, if it is older than the ticket's start. (A
    # stream handle's poll opens no tickets: what it stored is never context.)
    inbound_stored = [row for row in stored if row[1] == Post.Direction.INBOUND]
    # So is one on its author's ticket newer than the ticket's last post to us: stored only as
    # context (a mention moves last_inbound_at), it was never a follow-up (one that reopens).
    context_only = {
        rid
        for rid, _, author, requester, _, last_in in inbound_stored
        if handle.auto_ticket
        and (requester != author or (last_in is not None and unique[rid].created_at > last_in))
    }
    ticket_of = {rid: ticket_id for rid, _, _, _, ticket_id, _ in inbound_stored}
    starts = dict(
        Ticket.objects.filter(pk__in=set(ticket_of.values()) - {None}).values_list(
            "pk", "created_at"
        )
    )
    restarted: set[int] = set()
    for rid, ticket_id in ticket_of.items():
        if ticket_id is None or rid in context_only:
            continue
        if unique[rid].created_at < starts[ticket_id]:
            starts[ticket_id] = unique[rid].created_at
            Ticket.objects.filter(pk=ticket_id).update(created_at=starts[ticket_id])
            restarted.add(ticket_id)
    seen = {rid for rid, *_ in stored} - context_only
    result.duplicates = len(seen)
    fresh = [p for rid, p in unique.items() if rid not in seen]

    ours = our_handles_by_id(network=network)
    by_username = {
        h.username.lower(): h for h in Handle.objects.filter(network=network, is_active=True)
    }
    inbound = [p for p in fresh if p.author_id not in ours]
    outbound = [p for p in fresh if p.author_id in ours]

    # The parents' conversations too: a page whose posts were all stored before (read again)
    # still files its new parents on their conversation's ticket.
    context = list(context)
    tickets = _tickets_for(network=network, posts=[*inbound, *outbound, *context])
    new_tickets: list[Ticket] = []
    events: list[TicketEvent] = []
    touched: dict[int, Ticket] = {}
    post_rows: list[Post] = []

    for remote in inbound:
        key = (remote.conversation_id, remote.author_id)
        ticket = tickets.get(key)
        mentioned = [by_username[m.lower()] for m in remote.mentions if m.lower() in by_username]
        ticketing = [h for h in mentioned if h.auto_ticket]
        # The one ticket rule (intake.rule); a page's posts are mentions: they write to us.
        facts = rule.Seen(
            ours=False,
            to_us=True,
            ticket_status=ticket.status if ticket is not None else None,
            auto_ticket=bool(ticketing) or handle.auto_ticket,
        )
        outcome = rule.post_outcome(facts)
        if outcome == rule.Outcome.STREAM:
            post_rows.append(_post_row(remote, handle=handle, ticket=None, inbound=True))
            continue
        if ticket is None:
            ticket = Ticket(
                network=network,
                handle=rules.ticket_handle_for_mention(mentioned=ticketing, polled_by=handle),
                conversation_id=remote.conversation_id,
                requester_remote_id=remote.author_id,
                requester_username=remote.author_username,
                subject=remote.text[:140],
                status=Ticket.Status.NEW,
                created_at=remote.created_at,
                last_inbound_at=remote.created_at,
            )
            tickets[key] = ticket
            new_tickets.append(ticket)
        else:
            if ticket.pk is not None:
                touched[ticket.pk] = ticket
                kind = TicketEvent.Kind.FOLLOW_UP
                if outcome == rule.Outcome.REOPENS:
                    ticket.solved_at = None
                    kind = TicketEvent.Kind.REOPENED
                ticket.status = rule.status_after(outcome=outcome, status=ticket.status)
                events.append(
                    TicketEvent(ticket=ticket, kind=kind, data={"post": remote.remote_id})
                )
                result.follow_ups += 1
            ticket.last_inbound_at = max(ticket.last_inbound_at, remote.created_at)
            # A backlog is read newest first: an earlier post can arrive after its follow-up.
            ticket.created_at = min(ticket.created_at, remote.created_at)
        post_rows.append(_post_row(remote, handle=handle, ticket=ticket, inbound=True))

    rows.rows_insert(new_tickets)
    result.tickets_created = len(new_tickets)
    result.ticket_ids = [t.pk for t in new_tickets]
    events.extend(
        TicketEvent(ticket=t, kind=TicketEvent.Kind.CREATED, created_at=now) for t in new_tickets
    )

    # Our own posts, sent from outside the desk: on the conversation's ticket for now; which
    # ticket each one answers is worked out below, once every post of the page is stored.
    for remote in outbound:
        ticket = _conversation_ticket(tickets, remote.conversation_id)
        post_rows.append(
            _post_row(remote, handle=ours[remote.author_id], ticket=ticket, inbound=False)
        )
    result.outbound = len(outbound)

    # Parents of this page's posts, stored for context when we do not have them yet.
    parents = {p.remote_id: p for p in context if p.remote_id not in unique}
    known_parents = set(
        Post.objects.filter(network=network, remote_id__in=list(parents)).values_list(
            "remote_id", flat=True
        )
    )
    for remote in parents.values():
        if remote.remote_id in known_parents:
            continue
        is_ours = remote.author_id in ours
        ticket = tickets.get((remote.conversation_id, remote.author_id)) or (
            _conversation_ticket(tickets, remote.conversation_id)
        )
        post_rows.append(
            _post_row(
                remote,
                handle=ours.get(remote.author_id, handle),
                ticket=ticket,
                inbound=not is_ours,
            )
        )

    rows.rows_insert(post_rows, ignore_conflicts=True)
    for row in post_rows:
        if row.remote_id in context_only and row.ticket is not None:
            Post.objects.filter(network=network, remote_id=row.remote_id).update(ticket=row.ticket)
    result.stored = len(inbound) + len(outbound)
    # updated_at (auto_now) is stamped as by save(): the search refresh relies on it.
    rows.rows_update(
        list(touched.values()),
        fields=["status", "solved_at", "created_at", "last_inbound_at", "updated_at"],
    )
    rows.rows_insert(events)
    # Tickets opened or started earlier here may now be their conversation's first.
    placement.conversations_posts_place(
        network=network,
        conversations={t.conversation_id for t in [*new_tickets, *touched.values()]}
        | {unique[rid].conversation_id for rid, t in ticket_of.items() if t in restarted},
    )
    answered = answers.conversations_answers_refresh(
        network=network,
        conversations={row.conversation_id for row in post_rows}
        | {unique[rid].conversation_id for rid, t in ticket_of.items() if t in restarted},
    )
    ours_new = [row.remote_id for row in post_rows if row.direction == Post.Direction.OUTBOUND]
    # A ticket opened, joined or started earlier by this page (a backlog read newest first)
    # may be answered by a post of ours stored before: its status follows the same rule as
    # for a new post of ours (intake.rule, "answers").
    again = restarted | set(touched) | {t.pk for t in new_tickets}
    if again:
        ours_new += Post.objects.filter(
            pk__in=[pk for pk, ticket_id in answered.items() if ticket_id in again]
        ).values_list("remote_id", flat=True)
    _tickets_answered_elsewhere(network=network, remote_ids=ours_new, answered=answered)
    sla_services.tickets_sla_refresh_later(
        ticket_ids={r.ticket.pk for r in post_rows if r.ticket} | restarted
    )

    for row in post_rows:
        if row.direction == Post.Direction.OUTBOUND and row.ticket is not None:
            ticket_services.ticket_handle_check(ticket=row.ticket, post=row)

    if inbound:
        remote_ids = [p.remote_id for p in inbound]
        transaction.on_commit(lambda: _enqueue_enrich(network, remote_ids))

    # Checkpoints compare by the network's rule: X's and Mastodon's ids are numbers, Bluesky's
    # mention checkpoint is "<indexedAt>|<uri>" and its posts' record keys sort by time.
    newer = network_facts(network).checkpoint_newer
    if checkpoint and newer(checkpoint, handle.since_id):
        handle.since_id = checkpoint
    if own_checkpoint and newer(own_checkpoint, handle.own_since_id):
        handle.own_since_id = own_checkpoint
    fields = ["since_id", "own_since_id", "last_polled_at"]
    if resume is not None:
        handle.resume_newest_id, handle.resume_token = resume
        fields += ["resume_newest_id", "resume_token"]
    if own_resume is not None:
        handle.own_resume_newest_id, handle.own_resume_token = own_resume
        fields += ["own_resume_newest_id", "own_resume_token"]
    handle.last_polled_at = now
    handle.save(update_fields=fields)
    return result


def _tickets_answered_elsewhere(
    *, network: str, remote_ids: list[str], answered: dict[int, int]
) -> None:
    """Posts of ours the desk did not send (another client, the X app) that answer a ticket in
    the queue: it goes pending and leaves the queue when the requester's latest post is
    answered (`ticket_answer_get`, the one rule of "already answered"), and is open (answered
    once, written to since) otherwise; its timeline says where the answer came from."""
    posts = {
        p.pk: p
        for p in Post.objects.filter(network=network, remote_id__in=remote_ids, deleted_at=None)
        if p.pk in answered
    }
    if not posts:
        return
    tickets = Ticket.objects.select_for_update().in_bulk({answered[pk] for pk in posts})
    for post in sorted(posts.values(), key=lambda p: (p.created_at, p.remote_id)):
        ticket = tickets[answered[post.pk]]
        if ticket.status not in QUEUE_STATUSES:
            continue
        answered_latest = reply_selectors.ticket_answer_get(ticket=ticket) is not None
        status = Ticket.Status.PENDING if answered_latest else Ticket.Status.OPEN
        if status == ticket.status:
            continue
        ticket.status = status
        ticket.save(update_fields=["status", "updated_at"])
        TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEvent.Kind.ANSWERED_ELSEWHERE,
            message=f"Answered from another client by @{post.author_username}: {post.url}",
            data={"post": post.remote_id, "url": post.url, "status": status},
        )


def _enqueue_enrich(network: str, remote_ids: list[str]) -> None:
    enrich.posts_enrich_task.enqueue(network=network, remote_ids=remote_ids)


def our_handles_by_id(*, network: str) -> dict[str, Handle]:
    return {h.remote_id: h for h in Handle.objects.filter(network=network).exclude(remote_id="")}


def _conversations_known(
    *, network: str, posts: list[RemotePost], context: list[RemotePost]
) -> tuple[list[RemotePost], list[RemotePost]]:
    """`posts` and `context` with each conversation id that names a post we store in another
    conversation replaced by that conversation. Mastodon gives no conversation ids: its
    connector names the furthest parent the page shows (connectors/mastodon/parse.py,
    thread_roots), which for a follow-up to our reply is our reply, stored in the ticket's
    conversation; without this the follow-up would open a second ticket. One query; X's and
    Bluesky's ids are their threads' roots, stored as their own conversation, and stay."""
    named = {p.conversation_id for p in [*posts, *context]}
    known = dict(
        Post.objects.filter(network=network, remote_id__in=named)
        .exclude(conversation_id=F("remote_id"))
        .values_list("remote_id", "conversation_id")
    )
    if not known:
        return posts, context

    def rooted(items: list[RemotePost]) -> list[RemotePost]:
        return [
            replace(p, conversation_id=known[p.conversation_id])
            if p.conversation_id in known
            else p
            for p in items
        ]

    return rooted(posts), rooted(context)


def _tickets_for(*, network: str, posts: list[RemotePost]) -> dict[tuple[str, str], Ticket]:
    conversations = {p.conversation_id for p in posts}
    if not conversations:
        return {}
    active = Ticket.objects.filter(
        network=network, conversation_id__in=conversations, status__literal_in=ACTIVE_STATUSES
    )
    return {(t.conversation_id, t.requester_remote_id): t for t in active}


def _conversation_ticket(
    tickets: dict[tuple[str, str], Ticket], conversation_id: str
) -> Ticket | None:
    matches = [t for (conv, _), t in tickets.items() if conv == conversation_id]
    return min(matches, key=lambda t: t.created_at) if matches else None


def _post_row(remote: RemotePost, *, handle: Handle, ticket: Ticket | None, inbound: bool) -> Post:
    return Post(
        network=handle.network,
        remote_id=remote.remote_id,
        handle=handle,
        ticket=ticket,
        direction=Post.Direction.INBOUND if inbound else Post.Direction.OUTBOUND,
        author_remote_id=remote.author_id,
        author_username=remote.author_username,
        text=remote.text,
        created_at=remote.created_at,
        conversation_id=remote.conversation_id,
        in_reply_to_remote_id=remote.in_reply_to_id or "",
        mentions=list(remote.mentions),
        urls=list(remote.urls),
        raw=remote.raw,
    )
