"""The one write path of mention pages (poll and webhook): posts, follow-ups and tickets
stored in batches of pages, each batch one transaction.

Decisions are those of the ticket rule (`intake.rule`) taken over plain records: the parsed
posts (`RemotePost`), and tickets read as tuples, never model instances. Each page costs one
read of the posts it names that are stored already (its own and their parents), one of the
active tickets of its conversations, and one multi-row INSERT per table (tickets with
RETURNING for their ids), through statements built once per process. What does not depend
on a page's order is done once per batch: the handles, the side effects after commit
(enrichment, SLA refresh) and the handle's checkpoints, saved with the batch's last page.

The reads and writes themselves are `intake.records`. A test stores the same shuffled
conversations through this path and through the one it replaced, page by page, and compares
every row, ids included (tests/intake/test_batched_store_agrees.py)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mentiondesk.channels.connectors import network_facts
from mentiondesk.channels.connectors.base import PayloadProblem, RemotePost
from mentiondesk.channels.models import Handle, IngestProblem, Post
from mentiondesk.core import rows, tablestats
from mentiondesk.policy.selectors import policy_current
from mentiondesk.replies import selectors as reply_selectors
from mentiondesk.sla import services as sla_services
from mentiondesk.tickets import answers, rules
from mentiondesk.tickets import selectors as ticket_selectors
from mentiondesk.tickets import services as ticket_services
from mentiondesk.tickets.models import QUEUE_STATUSES, Ticket, TicketEvent

from . import enrich, placement, records, rule

# The tables a batch grows: their planner statistics are refreshed once it has committed.
STORED_TABLES = (Post, Ticket, TicketEvent)


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
        # The posts of the pages kept, which a read treats as stored (`ingest._parents`),
        # with their conversations (a Mastodon reply to one takes it: `threads`).
        self.held: dict[str, str] = {}

    def add(self, page: PageIn) -> None:
        if not self.pages:
            self.started = time.monotonic()
        self.pages.append(page)
        self.posts += len(page.posts) + len(page.context)
        self.held.update((p.remote_id, p.conversation_id) for p in [*page.posts, *page.context])
        if self.posts >= settings.INGEST_BATCH_POSTS or self.due():
            self.flush()

    def due(self) -> bool:
        """Whether the first page kept has waited its time."""
        waited = time.monotonic() - self.started
        return bool(self.pages) and waited >= settings.INGEST_BATCH_SECONDS

    def flush(self) -> None:
        pages, self.pages, self.posts, self.held = self.pages, [], 0, {}
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
    each, after commit.

    Locks the handle's row first (PostgreSQL; SQLite's write transactions serialise anyway):
    two polls of one handle at once (the periodic one and a webhook's) store one after the
    other, the second finding the first's posts stored. Polls of two handles named in one
    post can still race to open its ticket: the loser raises IntegrityError, caught by
    `ingest.handle_poll`."""
    # NO KEY UPDATE: another handle's poll filing a ticket under this handle (the ticket's
    # foreign key takes KEY SHARE on this row) does not wait for this one, nor deadlock with it.
    Handle.objects.select_for_update(no_key=True).filter(pk=handle.pk).exists()
    network = handle.network
    known = list(Handle.objects.filter(network=network))
    batch = records.Batch(
        handle=handle,
        now=timezone.now(),
        ours={h.remote_id: h for h in known if h.remote_id},
        by_username={h.username.lower(): h for h in known if h.is_active},
        by_pk={h.pk: h for h in known},
        active=ticket_selectors.handles_active(network=network),
        policy=policy_current(),
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
    # Robust: the batch is stored whatever happens to the ANALYZE (a timeout, a cancel).
    transaction.on_commit(
        lambda: tablestats.tables_analyze_stale(tables=STORED_TABLES), robust=True
    )
    handle.last_polled_at = batch.now
    handle.save(update_fields=list(dict.fromkeys(fields)))
    return result


def _page_store(batch: records.Batch, page: PageIn) -> IngestResult:
    handle = batch.handle
    network = handle.network
    result = IngestResult(handle=handle.username)

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
    stored, known_parents = records.posts_stored(network, unique, parents)
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
        records.tickets_restart(batch, {pk: starts[pk] for pk in restarted})
    seen = {row[0] for row in stored} - context_only
    result.duplicates = len(seen)
    fresh = [p for rid, p in unique.items() if rid not in seen]

    ours = batch.ours
    by_username = batch.by_username
    inbound = [p for p in fresh if p.author_id not in ours]
    outbound = [p for p in fresh if p.author_id in ours]

    # The parents' conversations too: a page whose posts were all stored before (read again)
    # still files its new parents on their conversation's ticket.
    tickets = records.tickets_active(network, [*inbound, *outbound, *context])
    new_tickets: list[records.TicketRow] = []
    events: list[tuple[records.TicketRow, str, dict[str, Any]]] = []
    touched: dict[int, records.TicketRow] = {}
    post_rows: list[records.PostRow] = []

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
            post_rows.append(records.PostRow(remote, handle, None, Post.Direction.INBOUND))
            continue
        if ticket is None:
            ticket = records.TicketRow(
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
        post_rows.append(records.PostRow(remote, handle, ticket, Post.Direction.INBOUND))

    records.tickets_insert(batch, network, new_tickets)
    result.tickets_created = len(new_tickets)
    result.ticket_ids = [t.pk for t in new_tickets if t.pk is not None]
    events.extend((t, TicketEvent.Kind.CREATED, {}) for t in new_tickets)

    # Our own posts, sent from outside the desk: on the conversation's ticket for now; which
    # ticket each one answers is worked out below, once every post of the page is stored.
    for remote in outbound:
        ticket = _conversation_ticket(tickets, remote.conversation_id)
        post_rows.append(
            records.PostRow(remote, ours[remote.author_id], ticket, Post.Direction.OUTBOUND)
        )
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
            records.PostRow(
                remote,
                ours.get(remote.author_id, handle),
                ticket,
                Post.Direction.OUTBOUND if is_ours else Post.Direction.INBOUND,
            )
        )

    records.posts_insert(batch, network, post_rows)
    records.posts_refile(
        network,
        [
            (row.ticket.pk, row.remote.remote_id)
            for row in post_rows
            if row.remote.remote_id in context_only and row.ticket is not None
        ],
    )
    result.stored = len(inbound) + len(outbound)
    records.tickets_touch(batch, touched.values())
    records.events_insert(batch, events)
    # Tickets opened or started earlier here may now be their conversation's first.
    restarted_conversations = {
        unique[rid].conversation_id for rid, t in ticket_of.items() if t in restarted
    }
    placement.conversations_posts_place(
        network=network,
        conversations={t.conversation_id for t in [*new_tickets, *touched.values()]}
        | restarted_conversations,
    )
    answered = answers.conversations_answers_refresh_posts(
        network=network,
        conversations={row.remote.conversation_id for row in post_rows} | restarted_conversations,
    )
    ours_new = {
        row.remote.remote_id for row in post_rows if row.direction == Post.Direction.OUTBOUND
    }
    # A ticket opened, joined or started earlier by this page (a backlog read newest first)
    # may be answered by a post of ours stored before: its status follows the same rule as
    # for a new post of ours (intake.rule, "answers").
    written = {t.pk: t for t in [*new_tickets, *touched.values()] if t.pk is not None}
    again = restarted | set(written)
    _tickets_answered_elsewhere(
        batch,
        answering={
            pk: a.ticket_id
            for pk, a in answered.items()
            if a.remote_id in ours_new or a.ticket_id in again
        },
        written=written,
    )
    batch.sla_ids |= {r.ticket.pk for r in post_rows if r.ticket and r.ticket.pk} | restarted
    _handles_check(batch, post_rows)
    batch.enrich_ids += [p.remote_id for p in inbound]
    return result


def _conversation_ticket(
    tickets: dict[tuple[str, str], records.TicketRow], conversation_id: str
) -> records.TicketRow | None:
    matches = [t for (conv, _), t in tickets.items() if conv == conversation_id]
    return min(matches, key=lambda t: t.created_at) if matches else None


def _handles_check(batch: records.Batch, post_rows: list[records.PostRow]) -> None:
    """The handbook's wrong-handle note for the page's posts of ours on a ticket, at once,
    against the ticket each was filed under when stored (as the page holds it: its handle and
    triage label are what the rule reads, and storing changes neither)."""
    checked = [
        (r, r.ticket)
        for r in post_rows
        if r.direction == Post.Direction.OUTBOUND and r.ticket is not None
    ]
    if not checked:
        return
    network = batch.handle.network
    tickets = {row.pk: _ticket(batch, row) for _, row in checked}
    checks = []
    for r, row in checked:
        post = Post(
            network=network,
            remote_id=r.remote.remote_id,
            handle=r.handle,
            author_username=r.remote.author_username,
            in_reply_to_remote_id=r.remote.in_reply_to_id or "",
            raw=r.remote.raw,
        )
        checks.append((tickets[row.pk], post))
    ticket_services.tickets_handle_check(checks=checks, handles=batch.active, policy=batch.policy)


def _tickets_answered_elsewhere(
    batch: records.Batch, *, answering: dict[int, int], written: dict[int, records.TicketRow]
) -> None:
    """Posts of ours the desk did not send (another client, the X app) that answer a ticket in
    the queue: it goes pending and leaves the queue when the requester's latest post is
    answered (`ticket_answer_get`, the one rule of "already answered"), and is open (answered
    once, written to since) otherwise; its timeline says where the answer came from.

    `answering`: {post id: ticket id} of the page's posts of ours that answer a ticket;
    `written`: the tickets the page opened or updated, by id, as it wrote them (and holds
    them locked). Nothing is read when none of the tickets answered is in the queue."""
    if not answering:
        return
    ticket_ids = set(answering.values())
    states = {pk: written[pk] for pk in ticket_ids if pk in written}
    # The others' status, read now and locked: what the UPDATE below replaces.
    states.update(records.tickets_lock(ticket_ids - set(states)))
    queued = {pk for pk, state in states.items() if state.status in QUEUE_STATUSES}
    if not queued:
        return
    posts = list(
        Post.objects.filter(
            pk__in=[pk for pk, ticket_id in answering.items() if ticket_id in queued],
            deleted_at=None,
        )
    )
    tickets = {pk: _ticket(batch, states[pk]) for pk in {answering[p.pk] for p in posts}}
    latest = ticket_selectors.tickets_latest_inbound(tickets=tickets.values())
    # Whether a ticket's latest post is answered does not change while this loop runs (it
    # writes statuses and events only): asked once, of every ticket together.
    answered_latest = reply_selectors.tickets_answer_get(
        latest={pk: (t, latest[pk]) for pk, t in tickets.items() if pk in latest}
    )
    changed: list[Ticket] = []
    notes: list[TicketEvent] = []
    for post in sorted(posts, key=lambda p: (p.created_at, p.remote_id)):
        ticket = tickets[answering[post.pk]]
        if ticket.status not in QUEUE_STATUSES:
            continue
        status = Ticket.Status.PENDING if ticket.pk in answered_latest else Ticket.Status.OPEN
        if status == ticket.status:
            continue
        ticket.status = states[ticket.pk].status = status
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


def _ticket(batch: records.Batch, row: records.TicketRow) -> Ticket:
    """The page's record of a stored ticket as the instance the tickets rules take: every
    field the record holds (those the handle and answer rules read among them)."""
    return Ticket(
        pk=row.pk,
        network=batch.handle.network,
        handle=batch.by_pk[row.handle_id],
        conversation_id=row.conversation_id,
        requester_remote_id=row.requester_remote_id,
        status=row.status,
        created_at=row.created_at,
        last_inbound_at=row.last_inbound_at,
        solved_at=row.solved_at,
        intent=row.intent,
        intent_confidence=row.intent_confidence,
    )


def _enqueue_enrich(network: str, remote_ids: list[str]) -> None:
    enrich.posts_enrich_task.enqueue(network=network, remote_ids=remote_ids)
