"""Reads for the audit log. Its rows are `tickets.TicketEvent`: every ticket action writes one,
and the database refuses to change or delete them (migration audit 0001)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.core.errors import DomainError, Forbidden
from mentiondesk.tickets.models import Ticket, TicketEvent

from .constants import AUDIT_ROLES, EXPORT_COLUMNS, EXPORT_FORMATS, FORMULA_PREFIXES

# Rows per chunk written to the stream: one database fetch and one write per chunk.
EXPORT_CHUNK_ROWS = 500


def audit_viewer_check(*, viewer: User) -> None:
    """Raises Forbidden unless `viewer` may read the audit log (leads and admins). Every door
    calls this before `audit_events`; the command line is trusted (it owns the database)."""
    if viewer.role not in AUDIT_ROLES:
        raise Forbidden("only leads and admins can read the audit log")


def audit_events(
    *,
    ticket_id: int | None = None,
    actor: User | str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    newest_first: bool = False,
) -> QuerySet[TicketEvent]:
    """Audit events, oldest first (`newest_first`: the other way), with actor and ticket
    joined.

    `actor` is a user or a username (any case); `since` is inclusive, `until` exclusive, and a
    naive time is UTC. Raises DomainError naming the field for an unknown ticket, user or
    kind, or a range that ends before it starts. Read-only."""
    qs = TicketEvent.objects.select_related("actor", "ticket")
    if ticket_id is not None:
        if not Ticket.objects.filter(pk=ticket_id).exists():
            raise DomainError(f"ticket {ticket_id} does not exist", field="ticket")
        qs = qs.filter(ticket_id=ticket_id)
    if isinstance(actor, str):
        actor = _user_named(actor)
    if actor is not None:
        qs = qs.filter(actor=actor)
    if kind:
        if kind not in TicketEvent.Kind.values:
            raise DomainError(
                f"unknown kind {kind!r}; use one of {', '.join(TicketEvent.Kind.values)}",
                field="kind",
            )
        qs = qs.filter(kind=kind)
    since, until = _utc(since), _utc(until)
    if since and until and until <= since:
        raise DomainError("the end of the range must be after its start", field="until")
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    order = ("created_at", "id")
    return qs.order_by(*(f"-{f}" for f in order) if newest_first else order)


def audit_export(*, events: QuerySet[TicketEvent], fmt: str) -> Iterator[str]:
    """`events` as CSV (a header, then one line per event) or as one JSON array, in chunks of
    text for a streaming response or a file. Columns: EXPORT_COLUMNS; times are ISO 8601 UTC.

    CSV cells that a spreadsheet would run as a formula start with a single quote. Raises
    DomainError for an unknown format at once; the rows are read as the stream is consumed."""
    if fmt not in EXPORT_FORMATS:
        raise DomainError(
            f"unknown format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}", field="format"
        )
    rows = events.iterator(chunk_size=EXPORT_CHUNK_ROWS)
    return _csv_chunks(rows) if fmt == "csv" else _json_chunks(rows)


def audit_export_filename(*, fmt: str, now: datetime | None = None) -> str:
    """`mentiondesk-audit-20261120T090000Z.csv`: the download's name."""
    stamp = (now or timezone.now()).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"mentiondesk-audit-{stamp}.{fmt}"


def _user_named(username: str) -> User:
    user = User.objects.filter(username__iexact=username.strip()).first()
    if user is None:
        raise DomainError(f"no user named {username!r}", field="user")
    return user


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if timezone.is_naive(value):
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _row(event: TicketEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "created_at": event.created_at.astimezone(UTC)
        .isoformat(timespec="microseconds")
        .replace("+00:00", "Z"),
        "ticket": event.ticket_id,
        "kind": event.kind,
        "actor": event.actor.username if event.actor else None,
        "message": event.message,
        "data": event.data,
    }


class _Line:
    """A file for csv.writer that hands back what it was given instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _csv_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return f"'{value}"
    return value


def _csv_chunks(events: Iterable[TicketEvent]) -> Iterator[str]:
    writer = csv.writer(_Line())
    chunk: list[str] = [writer.writerow(EXPORT_COLUMNS)]
    for event in events:
        row = _row(event)
        row["actor"] = row["actor"] or ""
        row["data"] = json.dumps(row["data"], ensure_ascii=False, sort_keys=True)
        chunk.append(writer.writerow([_csv_cell(row[c]) for c in EXPORT_COLUMNS]))
        if len(chunk) >= EXPORT_CHUNK_ROWS:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def _json_chunks(events: Iterable[TicketEvent]) -> Iterator[str]:
    chunk: list[str] = ["["]
    separator = "\n"
    for event in events:
        chunk.append(separator + json.dumps(_row(event), ensure_ascii=False))
        separator = ",\n"
        if len(chunk) >= EXPORT_CHUNK_ROWS:
            yield "".join(chunk)
            chunk = []
    chunk.append("\n]\n")
    yield "".join(chunk)
