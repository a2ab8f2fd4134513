"""The batched write path's reads and writes (`intake.store` decides, this stores): records
for tickets and posts, never model instances; reads as tuples through raw statements; multi-row
INSERTs (tickets with RETURNING for their ids). Statements are built once per process and
database, and checked against the models' columns when they are: a field added to a model
fails loudly here until it is added below."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models.constants import OnConflict
from django.utils.dateparse import parse_datetime

from mentiondesk.channels.connectors.base import RemotePost
from mentiondesk.channels.models import Handle, Post
from mentiondesk.core import rows
from mentiondesk.policy.schema import Policy
from mentiondesk.tickets.models import ACTIVE_STATUSES, Ticket, TicketEvent

# Parameters per statement: SQLite's limit is 32,766 (3.32 and later), PostgreSQL's 65,535.
MAX_PARAMS = 32_000


@dataclass(slots=True, eq=False)
class TicketRow:
    """An active ticket as the rule reads and changes it (pk None until inserted), with what
    the handbook's handle check reads of it (handle, triage label)."""

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
    intent: str = ""
    intent_confidence: float | None = None


@dataclass(slots=True)
class PostRow:
    remote: RemotePost
    handle: Handle
    ticket: TicketRow | None
    direction: str


@dataclass
class Batch:
    """What a batch reads once: the network's handles (by remote id, by username, by id, the
    active ones as `tickets.selectors.handles_active` lists them) and the policy in force;
    and what it does once, at its end."""

    handle: Handle
    now: datetime
    ours: dict[str, Handle]
    by_username: dict[str, Handle]
    by_pk: dict[int, Handle]
    active: list[Handle]
    policy: Policy
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


def posts_stored(
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


def tickets_active(network: str, posts: list[RemotePost]) -> dict[tuple[str, str], TicketRow]:
    """The active tickets of `posts`' conversations, by (conversation, requester), in queue
    order (the first of a conversation is its earliest)."""
    conversations = sorted({p.conversation_id for p in posts})
    tickets: dict[tuple[str, str], TicketRow] = {}
    for chunk in _chunks(conversations, MAX_PARAMS - 1):
        for row in _fetch(_sql().active(len(chunk)), [network, *chunk]):
            ticket = _ticket_row(row)
            tickets[(ticket.conversation_id, ticket.requester_remote_id)] = ticket
    if len(conversations) > MAX_PARAMS - 1:
        # Chunks each come in queue order; together they must too.
        tickets = dict(sorted(tickets.items(), key=lambda kv: (kv[1].created_at, kv[1].pk or 0)))
    return tickets


def tickets_lock(ids: Iterable[int]) -> dict[int, TicketRow]:
    """Tickets by id, as they are now, locked until the transaction ends (FOR UPDATE on
    PostgreSQL; SQLite's write transaction holds the whole database already): their status
    read here is the one an UPDATE that follows replaces."""
    wanted = sorted(set(ids))
    found: dict[int, TicketRow] = {}
    for chunk in _chunks(wanted, MAX_PARAMS):
        for row in _fetch(_sql().lock(len(chunk)), list(chunk)):
            ticket = _ticket_row(row)
            found[ticket.pk or 0] = ticket
    return found


def _ticket_row(row: Sequence[Any]) -> TicketRow:
    """A TicketRow from the columns `_TICKET_READ` names."""
    pk, conv, requester, status, created, last_in, solved, handle_id, intent, confidence = row
    return TicketRow(
        pk=pk,
        conversation_id=conv,
        requester_remote_id=requester,
        status=status,
        created_at=_datetime(created),
        last_inbound_at=_datetime(last_in),
        solved_at=_datetime_or_none(solved),
        handle_id=handle_id,
        intent=intent,
        intent_confidence=confidence,
    )


def tickets_insert(batch: Batch, network: str, tickets: list[TicketRow]) -> None:
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


def posts_insert(batch: Batch, network: str, post_rows: list[PostRow]) -> None:
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


def events_insert(batch: Batch, events: list[tuple[TicketRow, str, dict[str, Any]]]) -> None:
    now = batch.when(batch.now)
    json = _json_adapter()
    values = [(t.pk, kind, None, "", json(data), now) for t, kind, data in events]
    sql = _sql()
    with connection.cursor() as cursor:
        for chunk in _chunks(values, MAX_PARAMS // len(sql.event_columns)):
            cursor.execute(sql.event_insert(len(chunk)), [v for row in chunk for v in row])


def tickets_restart(batch: Batch, starts: dict[int, datetime]) -> None:
    """Tickets started earlier (a post older than their start arrived)."""
    _executemany(
        _sql().ticket_restart, [(batch.when(start), pk) for pk, start in sorted(starts.items())]
    )


def posts_refile(network: str, refiled: list[tuple[int | None, str]]) -> None:
    """Posts stored earlier as context, filed now on their (ticket id, remote id)."""
    _executemany(_sql().post_refile, [(pk, network, rid) for pk, rid in refiled])


def tickets_touch(batch: Batch, tickets: Iterable[TicketRow]) -> None:
    """What follow-ups changed on tickets stored before; updated_at (auto_now) is stamped as
    by save(): the search refresh relies on it."""
    _executemany(
        _sql().ticket_touch,
        [
            (
                t.status,
                batch.when(t.solved_at),
                batch.when(t.created_at),
                batch.when(t.last_inbound_at),
                batch.when(batch.now),
                t.pk,
            )
            for t in tickets
        ],
    )


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
    lock_head: str
    lock_tail: str
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

    @functools.cache  # noqa: B019 (as above)
    def lock(self, n: int) -> str:
        return self.lock_head + ", ".join(["%s"] * n) + self.lock_tail


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
# What a TicketRow reads of a stored ticket (`_ticket_row`).
_TICKET_READ = (
    "id, conversation_id, requester_remote_id, status, created_at, last_inbound_at, solved_at, "
    "handle_id, intent, intent_confidence"
)


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
            f"SELECT {_TICKET_READ} FROM tickets_ticket "  # noqa: S608
            f'WHERE "network" = %s AND "status" IN ({active}) AND "conversation_id" IN ('
        ),
        active_tail=") ORDER BY created_at, id",
        lock_head=f"SELECT {_TICKET_READ} FROM tickets_ticket WHERE id IN (",  # noqa: S608
        lock_tail=")" + (" FOR UPDATE" if connection.features.has_select_for_update else ""),
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
