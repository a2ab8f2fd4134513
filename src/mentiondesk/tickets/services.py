"""Ticket actions: play mode, assignment, hand-back and escalation, notes, presence, and the
Slack-backed reports (spam, retweet suggestions). Status and intent changes, which refresh the
SLA clock, are `mentiondesk.actions.tickets`."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import Exists, Field, OuterRef, QuerySet
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle, Post
from mentiondesk.core import rows
from mentiondesk.core.errors import Conflict, DomainError, Forbidden
from mentiondesk.policy.schema import Policy
from mentiondesk.policy.selectors import policy_current
from mentiondesk.tickets import rules

from . import selectors
from .constants import DEFAULT_VIEW, VIEWS, View
from .models import QUEUE_STATUSES, Ticket, TicketEvent, TicketPresence
from .selectors import view_get

PRESENCE_TTL = timedelta(seconds=20)


def ticket_next(*, user: User, view: str = DEFAULT_VIEW) -> Ticket | None:
    """Play mode: the caller's next ticket of `view`, assigned to them, or None when the view
    has nothing for them.

    Strict: no skipping. While the caller holds an open ticket of the view, Play returns that
    one again; they finish it (reply, solve) or hand it back with a reason. Each playable view
    is a queue of its own: a ticket held from the Mastodon view is returned by the Mastodon
    and the "All networks" views, not by the Twitter view, so an agent covering two networks
    holds at most one ticket of each. Otherwise the
    oldest unassigned ticket, except those the caller handed back themselves (they keep their
    place at the head of the queue for everyone else). Assigning opens a new ticket and writes
    an ASSIGNED event.

    Atomic across processes: PostgreSQL does it all in one statement that skips rows another
    transaction has locked (FOR UPDATE SKIP LOCKED), and waits for a locked row only when every
    candidate is locked; SQLite runs the transaction with the write lock taken up front
    (transaction_mode IMMEDIATE), so two agents never get the same ticket. Raises Forbidden
    for users who cannot reply, DomainError for a view that is not playable."""
    if not user.can_reply:
        raise Forbidden("light agents read tickets and add notes; they do not work the queue")
    spec = view_get(slug=view)
    if not spec.playable:
        raise DomainError(f"view {view!r} cannot be played", field="view")
    event = TicketEvent(
        kind=TicketEvent.Kind.ASSIGNED,
        actor=user,
        message=f"Assigned to {user.username} in play mode",
        data={"assignee": user.username, "view": view},
    )
    if connection.vendor != "postgresql":
        held, candidates = _play_queues(view=view, user_id=user.pk)
        return _ticket_next_waiting(user=user, held=held, candidates=candidates, event=event)
    for _ in range(3):
        ticket = _ticket_next_statement(user=user, view=view, event=event)
        if ticket is not None:
            return ticket
        # Built only now: compiling the querysets costs more than the statement (see
        # `_play_statement`), and a press that gets a ticket never needs them.
        held, candidates = _play_queues(view=view, user_id=user.pk)
        if not candidates.exists():
            return None
        # Every candidate is locked by another open transaction: an agent taking it, or a
        # background job labelling it. Wait for those rows rather than report an empty queue.
        ticket = _ticket_next_waiting(user=user, held=held, candidates=candidates, event=event)
        if ticket is not None:
            return ticket
    return None


def _ticket_next_waiting(
    *, user: User, held: QuerySet[Ticket], candidates: QuerySet[Ticket], event: TicketEvent
) -> Ticket | None:
    """`ticket_next` as a transaction: SQLite's write lock, taken up front, serialises it; on
    PostgreSQL the first candidate's row lock is waited for (and the row checked again)."""
    with transaction.atomic():
        ticket = held.first()
        if ticket is not None:
            return ticket
        ticket = candidates.select_for_update(of=("self",)).first()
        if ticket is None:
            return None
        ticket.assignee = user
        if ticket.status == Ticket.Status.NEW:
            ticket.status = Ticket.Status.OPEN
        ticket.save(update_fields=["assignee", "status", "updated_at"])
        event.ticket = ticket
        event.save(force_insert=True)
    return ticket


def _play_queues(*, view: str, user_id: int) -> tuple[QuerySet[Ticket], QuerySet[Ticket]]:
    """The ticket of `view` the user holds, and the candidates for them, oldest first. The
    view's rule for Play lives here (and in `_play_queue`) only; both paths of `ticket_next`
    run these querysets, and `ticket_take_rule` asks them what Play would give next."""
    in_view = _play_queue(view=view)
    held = in_view.filter(assignee_id=user_id)
    handed_back = TicketEvent.objects.filter(
        ticket=OuterRef("pk"), kind=TicketEvent.Kind.HANDED_BACK, actor_id=user_id
    )
    return held, in_view.filter(assignee__isnull=True).exclude(Exists(handed_back))


def _play_queue(*, view: str) -> QuerySet[Ticket]:
    """Every ticket of `view` that Play hands out, whoever to, oldest first."""
    return (
        Ticket.objects.filter(view_get(slug=view).filter)
        .filter(status__literal_in=QUEUE_STATUSES)
        .order_by("created_at", "id")
    )


def _ticket_next_statement(*, user: User, view: str, event: TicketEvent) -> Ticket | None:
    """`ticket_next` on PostgreSQL as one statement: one round trip, atomic on its own, no
    transaction held open between the read and the write (bench/RESULTS.md). The held
    ticket, or the first candidate locked with SKIP LOCKED (only when nothing is held),
    assigned and opened, with its ASSIGNED event."""
    sql, params, event_fields = _play_statement(view, user.pk, connection.alias)
    event_values = rows.insert_values([event], event_fields, connection=connection)[0]
    updated_at = Ticket._meta.get_field("updated_at").get_db_prep_save(timezone.now(), connection)
    event_params = [
        v for f, v in zip(event_fields, event_values, strict=True) if f.name != "ticket"
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, updated_at, *event_params])
        row = cursor.fetchone()
    if row is None:
        return None
    return rows.instance_from_row(Ticket, row, connection=connection)


# Compiling the querysets costs more CPU than running the statement: keep the SQL of the
# agents seen lately. It depends only on the view (fixed in code), the user and the database.
@functools.lru_cache(maxsize=512)
def _play_statement(
    view: str, user_id: int, alias: str
) -> tuple[str, list[Any], list[Field[Any, Any]]]:
    """The SQL of `_ticket_next_statement`, its parameters up to the assignment's time, and
    the event's columns (whose values follow)."""
    db = connections[alias]
    ops = db.ops
    table = ops.quote_name(Ticket._meta.db_table)

    def compiled(queryset: QuerySet[Ticket]) -> tuple[str, tuple[Any, ...]]:
        sql_params: tuple[str, tuple[Any, ...]] = (
            queryset.values("id")[:1].query.get_compiler(connection=db).as_sql()
        )
        return sql_params

    held, candidates = _play_queues(view=view, user_id=user_id)
    held_sql, held_params = compiled(held)
    pick_sql, pick_params = compiled(candidates)
    # Compiled without select_for_update, which Django refuses outside a transaction; a single
    # statement is its own transaction.
    lock = ops.for_update_sql(skip_locked=True, of=(table,))
    column = {f.name: ops.quote_name(f.column) for f in Ticket._meta.concrete_fields}
    event_fields = rows.insert_columns(TicketEvent)
    event_select = [
        f"assigned.{column['id']}" if f.name == "ticket" else "%s" for f in event_fields
    ]
    columns = rows.select_columns(Ticket, connection=db)
    sql = f"""
        WITH held AS ({held_sql}),
        pick AS (
            SELECT {column["id"]} FROM ({pick_sql} {lock}) AS candidate
            WHERE NOT EXISTS (SELECT FROM held)
        ),
        assigned AS (
            UPDATE {table} SET
                {column["assignee"]} = %s,
                {column["status"]} = CASE WHEN {table}.{column["status"]} = %s THEN %s
                    ELSE {table}.{column["status"]} END,
                {column["updated_at"]} = %s
            FROM pick WHERE {table}.{column["id"]} = pick.{column["id"]}
            RETURNING {columns}
        ),
        event AS (
            INSERT INTO {ops.quote_name(TicketEvent._meta.db_table)}
                ({", ".join(ops.quote_name(f.column) for f in event_fields)})
            SELECT {", ".join(event_select)} FROM assigned
        )
        SELECT * FROM assigned
        UNION ALL
        SELECT {columns} FROM {table}
        WHERE {table}.{column["id"]} IN (SELECT {column["id"]} FROM held)
    """  # noqa: S608 (names from our models; values are parameters)
    params = [*held_params, *pick_params, user_id, Ticket.Status.NEW, Ticket.Status.OPEN]
    return sql, params, event_fields


def user_can_reassign(user: User) -> bool:
    return user.role in policy_current().rules.reassign_roles


@dataclass(frozen=True)
class Take:
    """What acting on a ticket outside Play asks of a user: assigning it to themselves, or
    replying (which assigns it to the author).

    `refused` says why they may not ("" when they may); `reason_needed` says why they must
    give a reason ("" when none is needed). `next_ticket_id` is the ticket Play would give
    them instead, `assignee` the user who holds the ticket now (a lead taking it over)."""

    refused: str = ""
    reason_needed: str = ""
    next_ticket_id: int | None = None
    assignee: str | None = None

    @property
    def asks(self) -> bool:
        """The composer and "Assign to me" show a reason field."""
        return bool(self.reason_needed) and not self.refused


def ticket_take_rule(*, ticket: Ticket, user: User) -> Take:
    """The handbook's "use Play mode, do not skip any tickets, do not cross assign" for
    `user` acting on `ticket` outside Play. Read-only.

    - Assigned to `user`, `user` cannot reply (refused elsewhere), or a stream handle's
      ticket (answered from the stream column, never worked from a queue): nothing asked.
    - Assigned to someone else: the policy's `reassign_roles` take it over with a reason;
      everyone else is refused.
    - Unassigned: `reassign_roles` are not bound. For the others, in order when it is what
      Play would give them next in a playable view (the ticket they hold there, else the head
      of their queue: `_play_queues`, the one definition); a ticket in no playable view's
      queue (a stream handle's, a pending one) skips nobody. Out of order: a reason when
      `rules.out_of_order` is "with_reason", refused when it is "never"."""
    if ticket.assignee_id == user.pk or not user.can_reply:
        return Take()
    if ticket.handle.respond_from != Handle.RespondFrom.DESK:
        # The stream's posts have no queue and no owner: whoever answers first answers,
        # and the collision guard keeps it to one answer.
        return Take()
    rules_ = policy_current().rules
    lead = user.role in rules_.reassign_roles
    if ticket.assignee_id is not None:
        holder = ticket.assignee.username if ticket.assignee else "someone else"
        if lead:
            return Take(
                reason_needed=f"Ticket #{ticket.pk} is assigned to {holder}: say why you take "
                "it over (it becomes yours).",
                assignee=holder,
            )
        return Take(
            refused=f"Ticket #{ticket.pk} is assigned to {holder}: only they answer it. Ask "
            "them, or a lead to reassign it; no cross-assigning.",
            assignee=holder,
        )
    if lead:
        return Take()
    skipped: tuple[View, int | None] | None = None
    for view in VIEWS.values():
        # The ticket's own network view decides: a view over several networks orders the same
        # tickets among more, so it gives this ticket first only when that view does.
        if not view.playable or view.network != ticket.network:
            continue
        held, candidates = _play_queues(view=view.slug, user_id=user.pk)
        head = held.values_list("pk", flat=True).first()
        if head is None:
            head = candidates.values_list("pk", flat=True).first()
        if head == ticket.pk:
            return Take()
        if skipped is None and _play_queue(view=view.slug).filter(pk=ticket.pk).exists():
            skipped = (view, head)
    if skipped is None:
        return Take()
    view, head = skipped
    instead = f"Play gives you #{head} next" if head else "Play has another ticket for you"
    if rules_.out_of_order == "never":
        return Take(
            refused=f"{instead}: take tickets of the {view.name} view with Next, in order. "
            "The policy lets nobody skip the queue.",
            next_ticket_id=head,
        )
    return Take(
        reason_needed=f"{instead}: say why you take this one out of order.",
        next_ticket_id=head,
    )


def ticket_take_check(*, ticket: Ticket, by: User, reason: str, via: str) -> bool:
    """Enforce `ticket_take_rule` for `by` about to take `ticket` through `via` ("assign",
    "reply"). The caller holds the ticket's row lock and assigns it to `by` when this returns
    True (the ticket changes hands; False: nothing to take, or nothing the rule asks).

    With a reason needed and given, writes the TAKEN_OUT_OF_ORDER event (the reason, the
    actor, the ticket Play would have given, who held it) in the caller's transaction; a
    `reason` not needed is ignored. Raises Forbidden (refused: someone else's ticket, or
    the policy's out_of_order = "never"), DomainError with field "reason" (none given)."""
    take = ticket_take_rule(ticket=ticket, user=by)
    if take.refused:
        raise Forbidden(take.refused)
    if not take.reason_needed:
        return False
    reason = reason.strip()
    if not reason:
        raise DomainError(take.reason_needed, field="reason")
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.TAKEN_OUT_OF_ORDER,
        actor=by,
        message=reason,
        data={
            "via": via,
            "from": take.assignee,
            "to": by.username,
            "play_next": take.next_ticket_id,
        },
    )
    return True


@transaction.atomic
def ticket_assign(*, ticket: Ticket, assignee: User | None, by: User, reason: str = "") -> Ticket:
    """Assign `ticket` to `assignee` (None unassigns).

    Advocates may take an unassigned ticket for themselves only: no cross-assigning; and
    one Play would not give them next only with a `reason` (audited) or not at all, as the
    policy says (`ticket_take_check`). The policy's `reassign_roles` (leads, admins) reassign
    freely. Locks the row. Raises Forbidden, Conflict, DomainError (field "reason")."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status == Ticket.Status.CLOSED:
        raise Conflict(f"ticket #{ticket.pk} is closed")
    if not user_can_reassign(by):
        if not by.can_reply:
            raise Forbidden("light agents cannot take tickets")
        if assignee is None or assignee.pk != by.pk:
            raise Forbidden("only leads assign tickets to someone else")
        if ticket.assignee_id not in (None, by.pk):
            raise Conflict(f"ticket #{ticket.pk} is already assigned to {ticket.assignee}")
        ticket_take_check(ticket=ticket, by=by, reason=reason, via="assign")
    if assignee is not None and not assignee.can_reply:
        raise DomainError(f"{assignee.username} is a light agent and cannot own tickets")
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    previous = ticket.assignee.username if ticket.assignee else None
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.ASSIGNED if assignee else TicketEvent.Kind.UNASSIGNED,
        actor=by,
        message=f"Assigned to {assignee.username}" if assignee else "Unassigned",
        data={"from": previous, "to": assignee.username if assignee else None},
    )
    return ticket


def ticket_note_add(*, ticket: Ticket, by: User, text: str) -> TicketEvent:
    """An internal note on the timeline; every role may add one."""
    text = text.strip()
    if not text:
        raise DomainError("a note needs some text", field="text")
    return TicketEvent.objects.create(
        ticket=ticket, kind=TicketEvent.Kind.NOTE, actor=by, message=text
    )


def ticket_handle_check(*, ticket: Ticket, post: Post) -> TicketEvent | None:
    """Seed: "If a wrong handle is used in a response, take note and respond from the correct
    one in the follow-up." Notes it on the ticket; the next reply's handle is the policy's
    choice anyway. Returns the note, or None when the handle was right."""
    return tickets_handle_check(checks=[(ticket, post)])[0]


def tickets_handle_check(
    *,
    checks: Sequence[tuple[Ticket, Post]],
    handles: Sequence[Handle] | None = None,
    policy: Policy | None = None,
) -> list[TicketEvent | None]:
    """`ticket_handle_check` for many posts of ours at once, in a few queries whatever their
    number (ingest checks a page's posts together); the notes are written in `checks`' order.
    Returns each check's note or None, in that order. The posts share one network.

    `handles` (`selectors.handles_active` of that network) and `policy` (the one in force):
    what a caller checking many times in one transaction has read once already."""
    if not checks:
        return []
    network = checks[0][1].network
    mentioned = selectors.tickets_mentioned_handles(
        network=network, ticket_ids={ticket.pk for ticket, _ in checks}, active=handles
    )
    answered_ids = {p.in_reply_to_remote_id for _, p in checks if p.in_reply_to_remote_id}
    answered = {
        p.remote_id: p for p in Post.objects.filter(network=network, remote_id__in=answered_ids)
    }
    summoned = selectors.posts_summoned_handles(
        network=network, posts=list(answered.values()), active=handles
    )
    policy = policy if policy is not None else policy_current()
    notes: list[TicketEvent | None] = []
    for ticket, post in checks:
        handles = mentioned[ticket.pk]
        answered_post = answered.get(post.in_reply_to_remote_id)
        called = summoned[answered_post.remote_id] if answered_post is not None else None
        if post.handle is None or rules.handle_is_acceptable(
            ticket=ticket, mentioned=handles, handle=post.handle, summoned=called, policy=policy
        ):
            notes.append(None)
            continue
        correct = rules.handle_correct(ticket=ticket, mentioned=handles, policy=policy)
        notes.append(
            TicketEvent(
                ticket=ticket,
                kind=TicketEvent.Kind.WRONG_HANDLE,
                message=(
                    f"@{post.handle.username} answered ({post.url}), but {correct.reason} "
                    f"The next reply goes out from @{correct.handle.username}."
                ),
                data={
                    "post": post.remote_id,
                    "used": post.handle.username,
                    "correct": correct.handle.username,
                },
            )
        )
    rows.rows_insert([note for note in notes if note is not None])
    return notes


def presence_touch(*, ticket: Ticket, user: User, is_typing: bool = False) -> list[TicketPresence]:
    """Record that `user` has `ticket` open (and whether typing); return the others who do."""
    now = timezone.now()
    TicketPresence.objects.update_or_create(
        ticket=ticket, user=user, defaults={"is_typing": is_typing, "seen_at": now}
    )
    return list(
        TicketPresence.objects.filter(ticket=ticket, seen_at__gte=now - PRESENCE_TTL)
        .exclude(user=user)
        .select_related("user")
        .order_by("user__username")
    )
