"""The one write path of mention pages (poll and webhook): posts, follow-ups and tickets
stored in batches of pages, each batch one transaction.

Decisions are those of the ticket rule (`intake.rule`) taken over plain records: the parsed
posts (`RemotePost`), and tickets read as tuples, never model instances. Each page costs one
read of the posts it names that are stored already (its own and their parents), one of the
active tickets of its conversations, and one multi-row INSERT per table (tickets with
RETURNING for their ids), through statements built once per process. What does not depend
on a page's order is done once per batch: the handles, the side effects after commit
(enrichment, SLA refresh) and the handle's checkpoints, saved with the batch's last page.

A test stores the same shuffled conversations through this path and through the one it
replaced, page by page, and compares every row, ids included
(tests/intake/test_batched_store_agrees.py)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models.constants import OnConflict
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from mentiondesk.channels.connectors import network_facts
from mentiondesk.channels.connectors.base import PayloadProblem, RemotePost
from mentiondesk.channels.models import Handle, IngestProblem, Post
from mentiondesk.core import rows
from mentiondesk.replies import selectors as reply_selectors
from mentiondesk.sla import services as sla_services
from mentiondesk.tickets import answers, rules
from mentiondesk.tickets import selectors as ticket_selectors
from mentiondesk.tickets import services as ticket_services
from mentiondesk.tickets.models import ACTIVE_STATUSES, QUEUE_STATUSES, Ticket, TicketEvent

from . import enrich, placement, rule

# Parameters per statement: SQLite's limit is 32,766 (3.32 and later), PostgreSQL's 65,535.
MAX_PARAMS = 32_000


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


@dataclass(frozen=True)
class PageIn:
    """One page to store: the posts read (mentions, or our own timeline), the parents they
    answer (`context`), the items the connector could not parse, and where the read is once
    the page is stored (see `handle_poll`)."""

    posts: Sequence[RemotePost]
    context: Sequence[RemotePost] = ()
    problems: Sequence[PayloadProblem] = ()
    checkpoint: str | None = None
    own_checkpoint: str | None = None
    resume: tuple[str, str] | None = None
    own_resume: tuple[str, str] | None = None


@dataclass(slots=True, eq=False)
class _Ticket:
    """An active ticket as the rule reads and changes it (pk None until inserted)."""

    pk: int | None
    conversation_id: str
    requester_remote_id: str
    status: str
    created_at: datetime
    last_inbound_at: datetime
    solved_at: datetime | None
    handle_id: int = 0
    requester_username: str = ""
    subject: str = ""


@dataclass(slots=True)
class _PostRow:
    remote: RemotePost
    handle: Handle
    ticket: _Ticket | None
    direction: str


@dataclass
class _Batch:
    """What a batch reads once: the network's handles; and what it does once, at its end."""

    handle: Handle
    now: datetime
    ours: dict[str, Handle]
    by_username: dict[str, Handle]
    adapted: dict[datetime, Any] = field(default_factory=dict)
    enrich_ids: list[str] = field(default_factory=list)
    sla_ids: set[int] = field(default_factory=set)

    def when(self, value: datetime | None) -> Any:
        """A datetime as the driver takes it (adapted once per batch: a ticket, its first
        post and its event share their times)."""
        if value is None:
            return None
        if value not in self.adapted:
            self.adapted[value] = connection.ops.adapt_datetimefield_value(value)
        return self.adapted[value]


def mentions_store(
    *,
    handle: Handle,
    posts: Sequence[RemotePost],
    context: Sequence[RemotePost] = (),
    problems: Sequence[PayloadProblem] = (),
    checkpoint: str | None = None,
    own_checkpoint: str | None = None,
    resume: tuple[str, str] | None = None,
    own_resume: tuple[str, str] | None = None,
) -> IngestResult:
    """Store one page of mentions found by `handle` and turn them into tickets: a batch of
    one page (`mentions_store_pages`)."""
    page = PageIn(
        posts=posts,
        context=context,
        problems=problems,
        checkpoint=checkpoint,
        own_checkpoint=own_checkpoint,
        resume=resume,
        own_resume=own_resume,
    )
    return mentions_store_pages(handle=handle, pages=[page])


class PageBatches:
    """Pages read, kept until their batch is full (`INGEST_BATCH_POSTS` posts, or pages read
    within `INGEST_BATCH_SECONDS`), then stored together (`mentions_store_pages`) and their
    counts merged into `result`. The reader calls `flush()` when its read ends, or stops on an
    error: what was read is stored."""

    def __init__(self, *, handle: Handle, result: IngestResult) -> None:
        self.handle = handle
        self.result = result
        self.pages: list[PageIn] = []
        self.posts = 0
        self.started = 0.0
        # The posts of the pages kept, which a read treats as stored (`ingest._parents`).
        self.remote_ids: set[str] = set()

    def add(self, page: PageIn) -> None:
        if not self.pages:
            self.started = time.monotonic()
        self.pages.append(page)
        self.posts += len(page.posts) + len(page.context)
        self.remote_ids.update(p.remote_id for p in [*page.posts, *page.context])
        if self.posts >= settings.INGEST_BATCH_POSTS or self.due():
            self.flush()

    def due(self) -> bool:
        """Whether the first page kept has waited its time."""
        waited = time.monotonic() - self.started
        return bool(self.pages) and waited >= settings.INGEST_BATCH_SECONDS

    def flush(self) -> None:
        pages, self.pages, self.posts, self.remote_ids = self.pages, [], 0, set()
        if pages:
            self.result.merge(mentions_store_pages(handle=self.handle, pages=pages))


@transaction.atomic
def mentions_store_pages(*, handle: Handle, pages: Sequence[PageIn]) -> IngestResult:
    """Store pages of mentions found by `handle`, in order, in one transaction.

    Idempotent: posts already stored (same network and remote id) are skipped. Inbound posts
    join the active ticket of their requester's conversation (reopening a solved one) or open
    a new ticket; our own posts never open tickets. `context` posts (the parents a page
    replies to) are stored on the ticket of their conversation without opening one. Items the
    connector could not parse are kept as IngestProblem rows. A post that mentions only
    handles without `auto_ticket` (stream handles) is stored without a ticket, for the stream
    column. Each page's `checkpoint` (mentions), `own_checkpoint` (our timeline), `resume`
    and `own_resume` are written to the handle, once, in the same transaction. Enqueues the
    enrichment of the new inbound posts and the SLA refresh of the tickets written, once
    each, after commit."""
    network = handle.network
    known = list(Handle.objects.filter(network=network))
    batch = _Batch(
        handle=handle,
        now=timezone.now(),
        ours={h.remote_id: h for h in known if h.remote_id},
        by_username={h.username.lower(): h for h in known if h.is_active},
    )
    result = IngestResult(handle=handle.username)
    fields = ["since_id", "own_since_id", "last_polled_at"]
    # Checkpoints compare by the network's rule: X's and Mastodon's ids are numbers, Bluesky's
    # mention checkpoint is "<indexedAt>|<uri>" and its posts' record keys sort by time.
    newer = network_facts(network).checkpoint_newer
    for page in pages:
        result.merge(_page_store(batch, page))
        if page.checkpoint and newer(page.checkpoint, handle.since_id):
            handle.since_id = page.checkpoint
        if page.own_checkpoint and newer(page.own_checkpoint, handle.own_since_id):
            handle.own_since_id = page.own_checkpoint
        if page.resume is not None:
            handle.resume_newest_id, handle.resume_token = page.resume
            fields += ["resume_newest_id", "resume_token"]
        if page.own_resume is not None:
            handle.own_resume_newest_id, handle.own_resume_token = page.own_resume
            fields += ["own_resume_newest_id", "own_resume_token"]
    sla_services.tickets_sla_refresh_later(ticket_ids=batch.sla_ids)
    if batch.enrich_ids:
        remote_ids = batch.enrich_ids
        transaction.on_commit(lambda: _enqueue_enrich(network, remote_ids))
    handle.last_polled_at = batch.now
    handle.save(update_fields=list(dict.fromkeys(fields)))
    return result


def _page_store(batch: _Batch, page: PageIn) -> IngestResult:
    handle = batch.handle
    network = handle.network
    result = IngestResult(handle=handle.username)
    now = batch.now

    problem_rows = [
        IngestProblem(
            handle=handle,
            endpoint=network_facts(network).mentions_endpoint,
            reason=p.reason,
            raw=p.raw,
        )
        for p in page.problems
    ]
    if problem_rows:
        rows.rows_insert(problem_rows)
        result.problems = len(problem_rows)

    unique = {p.remote_id: p for p in sorted(page.posts, key=lambda p: (p.created_at, p.remote_id))}
    context = list(page.context)
    parents = {p.remote_id: p for p in context if p.remote_id not in unique}
    stored, known_parents = _stored(network, unique, parents)
    # A customer's post stored earlier only as context (the parent of a newer post, read first
    # in a backlog read newest first) still opens or joins its author's ticket now; one stored
    # on its author's ticket still starts it, if it is older than the ticket's start. (A
    # stream handle's poll opens no tickets: what it stored is never context.)
    inbound_stored = [row for row in stored if row[1] == Post.Direction.INBOUND]
    # So is one on its author's ticket newer than the ticket's last post to us: stored only as
    # context (a mention moves last_inbound_at), it was never a follow-up (one that reopens).
    context_only = {
        rid
        for rid, _, author, requester, _, last_in, _ in inbound_stored
        if handle.auto_ticket
        and (requester != author or (last_in is not None and unique[rid].created_at > last_in))
    }
    ticket_of = {rid: ticket_id for rid, _, _, _, ticket_id, _, _ in inbound_stored}
    starts = {ticket_id: start for _, _, _, _, ticket_id, _, start in inbound_stored if ticket_id}
    restarted: set[int] = set()
    for rid, ticket_id in ticket_of.items():
        if ticket_id is None or rid in context_only:
            continue
        if unique[rid].created_at < starts[ticket_id]:
            starts[ticket_id] = unique[rid].created_at
            restarted.add(ticket_id)
    if restarted:
        _executemany(
            _sql().ticket_restart, [(batch.when(starts[pk]), pk) for pk in sorted(restarted)]
        )
    seen = {row[0] for row in stored} - context_only
    result.duplicates = len(seen)
    fresh = [p for rid, p in unique.items() if rid not in seen]

    ours = batch.ours
    by_username = batch.by_username
    inbound = [p for p in fresh if p.author_id not in ours]
    outbound = [p for p in fresh if p.author_id in ours]

    # The parents' conversations too: a page whose posts were all stored before (read again)
    # still files its new parents on their conversation's ticket.
    tickets = _tickets_for(network, [*inbound, *outbound, *context])
    new_tickets: list[_Ticket] = []
    events: list[tuple[_Ticket, str, dict[str, Any]]] = []
    touched: dict[int, _Ticket] = {}
    post_rows: list[_PostRow] = []

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
            post_rows.append(_PostRow(remote, handle, None, Post.Direction.INBOUND))
            continue
        if ticket is None:
            ticket = _Ticket(
                pk=None,
                conversation_id=remote.conversation_id,
                requester_remote_id=remote.author_id,
                status=Ticket.Status.NEW,
                created_at=remote.created_at,
                last_inbound_at=remote.created_at,
                solved_at=None,
                handle_id=rules.ticket_handle_for_mention(mentioned=ticketing, polled_by=handle).pk,
                requester_username=remote.author_username,
                subject=remote.text[:140],
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
                events.append((ticket, kind, {"post": remote.remote_id}))
                result.follow_ups += 1
            ticket.last_inbound_at = max(ticket.last_inbound_at, remote.created_at)
            # A backlog is read newest first: an earlier post can arrive after its follow-up.
            ticket.created_at = min(ticket.created_at, remote.created_at)
        post_rows.append(_PostRow(remote, handle, ticket, Post.Direction.INBOUND))

    _tickets_insert(batch, network, new_tickets)
    result.tickets_created = len(new_tickets)
    result.ticket_ids = [t.pk for t in new_tickets if t.pk is not None]
    events.extend((t, TicketEvent.Kind.CREATED, {}) for t in new_tickets)

    # Our own posts, sent from outside the desk: on the conversation's ticket for now; which
    # ticket each one answers is worked out below, once every post of the page is stored.
    for remote in outbound:
        ticket = _conversation_ticket(tickets, remote.conversation_id)
        post_rows.append(_PostRow(remote, ours[remote.author_id], ticket, Post.Direction.OUTBOUND))
    result.outbound = len(outbound)

    # Parents of this page's posts, stored for context when we do not have them yet.
    for remote in parents.values():
        if remote.remote_id in known_parents:
            continue
        is_ours = remote.author_id in ours
        ticket = tickets.get((remote.conversation_id, remote.author_id)) or (
            _conversation_ticket(tickets, remote.conversation_id)
        )
        post_rows.append(
            _PostRow(
                remote,
                ours.get(remote.author_id, handle),
                ticket,
                Post.Direction.OUTBOUND if is_ours else Post.Direction.INBOUND,
            )
        )

    _posts_insert(batch, network, post_rows)
    refiled = [
        (row.ticket.pk, network, row.remote.remote_id)
        for row in post_rows
        if row.remote.remote_id in context_only and row.ticket is not None
    ]
    _executemany(_sql().post_refile, refiled)
    result.stored = len(inbound) + len(outbound)
    # updated_at (auto_now) is stamped as by save(): the search refresh relies on it.
    _executemany(
        _sql().ticket_touch,
        [
            (
                t.status,
                batch.when(t.solved_at),
                batch.when(t.created_at),
                batch.when(t.last_inbound_at),
                batch.when(now),
                t.pk,
            )
            for t in touched.values()
        ],
    )
    _events_insert(batch, events)
    # Tickets opened or started earlier here may now be their conversation's first.
    restarted_conversations = {
        unique[rid].conversation_id for rid, t in ticket_of.items() if t in restarted
    }
    placement.conversations_posts_place(
        network=network,
        conversations={t.conversation_id for t in [*new_tickets, *touched.values()]}
        | restarted_conversations,
    )
    answered = answers.conversations_answers_refresh(
        network=network,
        conversations={row.remote.conversation_id for row in post_rows} | restarted_conversations,
    )
    ours_new = [
        row.remote.remote_id for row in post_rows if row.direction == Post.Direction.OUTBOUND
    ]
    # A ticket opened, joined or started earlier by this page (a backlog read newest first)
    # may be answered by a post of ours stored before: its status follows the same rule as
    # for a new post of ours (intake.rule, "answers").
    again = restarted | set(touched) | {t.pk for t in new_tickets}
    if again:
        ours_new += Post.objects.filter(
            pk__in=[pk for pk, ticket_id in answered.items() if ticket_id in again]
        ).values_list("remote_id", flat=True)
    _tickets_answered_elsewhere(network=network, remote_ids=ours_new, answered=answered)
    batch.sla_ids |= {r.ticket.pk for r in post_rows if r.ticket and r.ticket.pk} | restarted
    _handles_check(network, post_rows)
    batch.enrich_ids += [p.remote_id for p in inbound]
    return result


def _stored(
    network: str, unique: dict[str, RemotePost], parents: dict[str, RemotePost]
) -> tuple[list[tuple[Any, ...]], set[str]]:
    """The page's posts stored already, with their ticket (rows of remote id, direction,
    author, ticket's requester, ticket id, ticket's last inbound and start, in timeline
    order), and the ids of its parents stored already: one query."""
    wanted = [*unique, *parents]
    found: list[tuple[Any, ...]] = []
    for chunk in _chunks(wanted, MAX_PARAMS - 1):
        found += _fetch(_sql().stored(len(chunk)), [network, *chunk])
    page = [
        (
            rid,
            direction,
            author,
            requester,
            ticket_id,
            _datetime_or_none(last_in),
            _datetime_or_none(start),
        )
        for rid, direction, author, requester, ticket_id, last_in, start, _ in sorted(
            (row for row in found if row[0] in unique), key=lambda row: (row[7], row[0])
        )
    ]
    return page, {row[0] for row in found if row[0] in parents}


def _tickets_for(network: str, posts: list[RemotePost]) -> dict[tuple[str, str], _Ticket]:
    """The active tickets of `posts`' conversations, by (conversation, requester), in queue
    order (the first of a conversation is its earliest)."""
    conversations = sorted({p.conversation_id for p in posts})
    tickets: dict[tuple[str, str], _Ticket] = {}
    for chunk in _chunks(conversations, MAX_PARAMS - 1):
        for pk, conv, requester, status, created, last_in, solved in _fetch(
            _sql().active(len(chunk)), [network, *chunk]
        ):
            tickets[(conv, requester)] = _Ticket(
                pk=pk,
                conversation_id=conv,
                requester_remote_id=requester,
                status=status,
                created_at=_datetime(created),
                last_inbound_at=_datetime(last_in),
                solved_at=_datetime_or_none(solved),
            )
    if len(conversations) > MAX_PARAMS - 1:
        # Chunks each come in queue order; together they must too.
        tickets = dict(sorted(tickets.items(), key=lambda kv: (kv[1].created_at, kv[1].pk or 0)))
    return tickets


def _conversation_ticket(
    tickets: dict[tuple[str, str], _Ticket], conversation_id: str
) -> _Ticket | None:
    matches = [t for (conv, _), t in tickets.items() if conv == conversation_id]
    return min(matches, key=lambda t: t.created_at) if matches else None


def _tickets_insert(batch: _Batch, network: str, tickets: list[_Ticket]) -> None:
    """One multi-row INSERT … RETURNING id per chunk; each ticket gets its id, in VALUES
    order."""
    when = batch.when
    now = when(batch.now)
    values = [
        (
            network,
            t.handle_id,
            t.conversation_id,
            t.requester_remote_id,
            t.requester_username,
            t.subject,
            t.status,
            None,
            when(t.created_at),
            now,
            when(t.last_inbound_at),
            None,
            None,
            "",
            None,
            None,
        )
        for t in tickets
    ]
    sql = _sql()
    width = len(sql.ticket_columns)
    with connection.cursor() as cursor:
        for chunk, rows_in in zip(
            _chunks(tickets, MAX_PARAMS // width),
            _chunks(values, MAX_PARAMS // width),
            strict=True,
        ):
            if sql.returning:
                cursor.execute(sql.ticket_insert(len(rows_in)), [v for r in rows_in for v in r])
                for ticket, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                    ticket.pk = pk
            else:
                for ticket, row in zip(chunk, rows_in, strict=True):
                    cursor.execute(sql.ticket_insert(1), list(row))
                    ticket.pk = cursor.lastrowid


def _posts_insert(batch: _Batch, network: str, post_rows: list[_PostRow]) -> None:
    """One multi-row INSERT per chunk; a post stored meanwhile by another poll is skipped (ON
    CONFLICT DO NOTHING)."""
    when = batch.when
    now = when(batch.now)
    json = _json_adapter()
    values = [
        (
            network,
            r.remote.remote_id,
            r.handle.pk,
            r.ticket.pk if r.ticket is not None else None,
            r.direction,
            r.remote.author_id,
            r.remote.author_username,
            r.remote.text,
            when(r.remote.created_at),
            r.remote.conversation_id,
            r.remote.in_reply_to_id or "",
            json(list(r.remote.mentions)),
            json(list(r.remote.urls)),
            json(r.remote.raw),
            None,
            now,
        )
        for r in post_rows
    ]
    sql = _sql()
    with connection.cursor() as cursor:
        for chunk in _chunks(values, MAX_PARAMS // len(sql.post_columns)):
            cursor.execute(sql.post_insert(len(chunk)), [v for row in chunk for v in row])


def _events_insert(batch: _Batch, events: list[tuple[_Ticket, str, dict[str, Any]]]) -> None:
    now = batch.when(batch.now)
    json = _json_adapter()
    values = [(t.pk, kind, None, "", json(data), now) for t, kind, data in events]
    sql = _sql()
    with connection.cursor() as cursor:
        for chunk in _chunks(values, MAX_PARAMS // len(sql.event_columns)):
            cursor.execute(sql.event_insert(len(chunk)), [v for row in chunk for v in row])


def _handles_check(network: str, post_rows: list[_PostRow]) -> None:
    """The handbook's wrong-handle note for the page's posts of ours on a ticket, at once,
    against the ticket each was filed under when stored."""
    checked = [
        r for r in post_rows if r.direction == Post.Direction.OUTBOUND and r.ticket is not None
    ]
    if not checked:
        return
    tickets = Ticket.objects.select_related("handle").in_bulk(
        {r.ticket.pk for r in checked if r.ticket is not None}
    )
    checks = []
    for r in checked:
        ticket_pk = r.ticket.pk if r.ticket is not None else None
        post = Post(
            network=network,
            remote_id=r.remote.remote_id,
            handle=r.handle,
            author_username=r.remote.author_username,
            in_reply_to_remote_id=r.remote.in_reply_to_id or "",
            raw=r.remote.raw,
        )
        checks.append((tickets[ticket_pk], post))
    ticket_services.tickets_handle_check(checks=checks)


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
    queued = [t for t in tickets.values() if t.status in QUEUE_STATUSES]
    latest = ticket_selectors.tickets_latest_inbound(tickets=queued)
    # Whether a ticket's latest post is answered does not change while this loop runs (it
    # writes statuses and events only): asked once, of every ticket together.
    answered_latest = reply_selectors.tickets_answer_get(
        latest={t.pk: (t, latest[t.pk]) for t in queued if t.pk in latest}
    )
    changed: list[Ticket] = []
    notes: list[TicketEvent] = []
    for post in sorted(posts.values(), key=lambda p: (p.created_at, p.remote_id)):
        ticket = tickets[answered[post.pk]]
        if ticket.status not in QUEUE_STATUSES:
            continue
        status = Ticket.Status.PENDING if ticket.pk in answered_latest else Ticket.Status.OPEN
        if status == ticket.status:
            continue
        ticket.status = status
        changed.append(ticket)
        notes.append(
            TicketEvent(
                ticket=ticket,
                kind=TicketEvent.Kind.ANSWERED_ELSEWHERE,
                message=f"Answered from another client by @{post.author_username}: {post.url}",
                data={"post": post.remote_id, "url": post.url, "status": status},
            )
        )
    # Once each: a ticket's status goes where its answer says, and stays there.
    rows.rows_update(changed, fields=["status", "updated_at"])
    rows.rows_insert(notes)


def _enqueue_enrich(network: str, remote_ids: list[str]) -> None:
    enrich.posts_enrich_task.enqueue(network=network, remote_ids=remote_ids)


# --- Statements, built once per process ---------------------------------------------------


@dataclass(frozen=True)
class _Statements:
    ticket_columns: tuple[str, ...]
    post_columns: tuple[str, ...]
    event_columns: tuple[str, ...]
    returning: bool
    ticket_head: str
    ticket_tail: str
    post_head: str
    post_tail: str
    event_head: str
    stored_head: str
    stored_tail: str
    active_head: str
    active_tail: str
    ticket_restart: str
    ticket_touch: str
    post_refile: str

    @functools.cache  # noqa: B019 (one instance per process, kept for its life)
    def ticket_insert(self, n: int) -> str:
        return self.ticket_head + _values(len(self.ticket_columns), n) + self.ticket_tail

    @functools.cache  # noqa: B019 (as above)
    def post_insert(self, n: int) -> str:
        return self.post_head + _values(len(self.post_columns), n) + self.post_tail

    @functools.cache  # noqa: B019 (as above)
    def event_insert(self, n: int) -> str:
        return self.event_head + _values(len(self.event_columns), n)

    @functools.cache  # noqa: B019 (as above)
    def stored(self, n: int) -> str:
        return self.stored_head + ", ".join(["%s"] * n) + self.stored_tail

    @functools.cache  # noqa: B019 (as above)
    def active(self, n: int) -> str:
        return self.active_head + ", ".join(["%s"] * n) + self.active_tail


# The columns the inserts write, in the order the rows above hold them. Checked against the
# models when the statements are built: a field added to a model must be added here too.
TICKET_COLUMNS = (
    "network",
    "handle_id",
    "conversation_id",
    "requester_remote_id",
    "requester_username",
    "subject",
    "status",
    "assignee_id",
    "created_at",
    "updated_at",
    "last_inbound_at",
    "first_response_at",
    "solved_at",
    "intent",
    "intent_confidence",
    "escalated_at",
)
POST_COLUMNS = (
    "network",
    "remote_id",
    "handle_id",
    "ticket_id",
    "direction",
    "author_remote_id",
    "author_username",
    "text",
    "created_at",
    "conversation_id",
    "in_reply_to_remote_id",
    "mentions",
    "urls",
    "raw",
    "deleted_at",
    "stored_at",
)
EVENT_COLUMNS = ("ticket_id", "kind", "actor_id", "message", "data", "created_at")


@functools.cache
def _statements(vendor: str) -> _Statements:
    del vendor  # the cache key: each database's statements are its own
    ops = connection.ops
    for model, columns in ((Ticket, TICKET_COLUMNS), (Post, POST_COLUMNS)):
        actual = tuple(f.column for f in rows.insert_columns(model))
        if actual != columns:
            raise AssertionError(f"{model.__name__}'s columns changed: {actual}")
    actual = tuple(f.column for f in rows.insert_columns(TicketEvent))
    if actual != EVENT_COLUMNS:
        raise AssertionError(f"TicketEvent's columns changed: {actual}")
    returning = bool(connection.features.can_return_rows_from_bulk_insert)
    ignore = ops.insert_statement(on_conflict=OnConflict.IGNORE)
    conflict_tail = ops.on_conflict_suffix_sql([], OnConflict.IGNORE, None, None)
    active = ", ".join(f"'{s}'" for s in ACTIVE_STATUSES)  # our constants, literal for the index
    return _Statements(
        ticket_columns=TICKET_COLUMNS,
        post_columns=POST_COLUMNS,
        event_columns=EVENT_COLUMNS,
        returning=returning,
        # Names and literals from this module only; every value is a parameter.
        ticket_head=f"INSERT INTO tickets_ticket ({', '.join(TICKET_COLUMNS)}) VALUES ",  # noqa: S608
        ticket_tail=' RETURNING "id"' if returning else "",
        post_head=f"{ignore} channels_post ({', '.join(POST_COLUMNS)}) VALUES ",
        post_tail=f" {conflict_tail}" if conflict_tail else "",
        event_head=f"INSERT INTO tickets_ticketevent ({', '.join(EVENT_COLUMNS)}) VALUES ",  # noqa: S608
        stored_head=(
            "SELECT p.remote_id, p.direction, p.author_remote_id, t.requester_remote_id, "
            "p.ticket_id, t.last_inbound_at, t.created_at, p.created_at "
            "FROM channels_post p LEFT JOIN tickets_ticket t ON t.id = p.ticket_id "
            "WHERE p.network = %s AND p.remote_id IN ("
        ),
        stored_tail=")",
        active_head=(
            "SELECT id, conversation_id, requester_remote_id, status, created_at, "  # noqa: S608
            "last_inbound_at, solved_at FROM tickets_ticket "
            f'WHERE "network" = %s AND "status" IN ({active}) AND "conversation_id" IN ('
        ),
        active_tail=") ORDER BY created_at, id",
        ticket_restart="UPDATE tickets_ticket SET created_at = %s WHERE id = %s",
        ticket_touch=(
            "UPDATE tickets_ticket SET status = %s, solved_at = %s, created_at = %s, "
            "last_inbound_at = %s, updated_at = %s WHERE id = %s"
        ),
        post_refile=(
            "UPDATE channels_post SET ticket_id = %s WHERE network = %s AND remote_id = %s"
        ),
    )


def _sql() -> _Statements:
    return _statements(connection.vendor)


@functools.cache
def _values(width: int, n: int) -> str:
    row = "(" + ", ".join(["%s"] * width) + ")"
    return ", ".join([row] * n)


def _json_adapter() -> Callable[[Any], Any]:
    adapt = connection.ops.adapt_json_value
    return lambda value: adapt(value, None)


def _datetime(value: Any) -> datetime:
    """A timestamp read by a raw query: SQLite gives text in UTC, PostgreSQL an aware
    datetime (Django's connection runs in UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not a timestamp: {value!r}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _datetime_or_none(value: Any) -> datetime | None:
    return None if value is None else _datetime(value)


def _fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


def _executemany(sql: str, params: list[tuple[Any, ...]]) -> None:
    if params:
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
