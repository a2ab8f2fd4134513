"""The storing path as it was before the batched write path (`intake.store`), kept only as
the reference the equivalence test (test_batched_store_agrees.py) compares it with: one page
per call, model instances, ORM reads. Production code never imports it."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from mentiondesk.channels.connectors import network_facts
from mentiondesk.channels.connectors.base import PayloadProblem, RemotePost
from mentiondesk.channels.models import Handle, IngestProblem, Post
from mentiondesk.core import rows
from mentiondesk.intake import enrich, placement, rule
from mentiondesk.intake.ingest import IngestResult
from mentiondesk.replies import selectors as reply_selectors
from mentiondesk.sla import services as sla_services
from mentiondesk.tickets import answers, rules
from mentiondesk.tickets import services as ticket_services
from mentiondesk.tickets.models import ACTIVE_STATUSES, QUEUE_STATUSES, Ticket, TicketEvent


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
