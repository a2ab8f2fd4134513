"""Ticket search: the seed's Zendesk habits as a small syntax, over each engine's own
full-text index (SQLite FTS5, PostgreSQL tsvector).

Syntax: words and "quoted phrases" must all match (`any:` makes any one enough), plus filters
`status:solved`, `intent:availability`, `sentiment:negative`, `context:self_managed` (triage's
labels), `handle:Driftwood`, `requester:maya`, and
`sort:updated` (newest update first, the seed's "click on the Updated column"), `sort:created`
or the default `sort:relevance`. Unknown `key:value` pairs are refused with the key named."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from mentiondesk.channels.models import Post
from mentiondesk.core.errors import DomainError
from mentiondesk.core.intents import Intent
from mentiondesk.core.keywords import keywords_extract
from mentiondesk.triage.constants import CONTEXTS, SENTIMENTS

from .models import Ticket, TicketDocument
from .selectors import (
    QueueRow,
    TriageFilter,
    queue_rows,
    ticket_filter_triage,
    ticket_list,
    ticket_queue_rows,
)

SORTS = ("relevance", "updated", "created")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class SearchQuery:
    words: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    status: str | None = None
    intent: str | None = None
    sentiment: str | None = None
    context: str | None = None
    handle: str | None = None
    requester: str | None = None
    sort: str = "relevance"
    match_any: bool = False

    @property
    def has_text(self) -> bool:
        return bool(self.words or self.phrases)


@dataclass(frozen=True)
class SearchHit:
    ticket: Ticket
    score: float


def search_parse(*, text: str) -> SearchQuery:
    """Parse the search syntax. Raises DomainError (field "q") on unknown filters or values."""
    query = SearchQuery()
    try:
        tokens = shlex.split(text, posix=True)
    except ValueError:
        raise DomainError("unbalanced quotes in the search", field="q") from None
    for token in tokens:
        key, sep, value = token.partition(":")
        if sep and key.isalpha() and value and " " not in token:
            _filter(query, key.lower(), value)
        elif " " in token:
            query.phrases.append(token)
        else:
            query.words.extend(_WORD.findall(token))
    return query


def _filter(query: SearchQuery, key: str, value: str) -> None:
    if key == "status":
        _one_of(key, value, Ticket.Status.values)
        query.status = value
    elif key == "intent":
        _one_of(key, value, [v for v in Intent.values if v])
        query.intent = value
    elif key == "sentiment":
        _one_of(key, value, list(SENTIMENTS))
        query.sentiment = value
    elif key == "context":
        _one_of(key, value, list(CONTEXTS))
        query.context = value
    elif key == "sort":
        _one_of(key, value, list(SORTS))
        query.sort = value
    elif key == "handle":
        query.handle = value.lstrip("@")
    elif key == "requester":
        query.requester = value.lstrip("@")
    elif key == "any":
        query.match_any = True
        query.words.extend(_WORD.findall(value))
    else:
        raise DomainError(
            f"unknown search filter {key!r}; use status:, intent:, sentiment:, context:, "
            "handle:, requester:, sort:",
            field="q",
        )


def _one_of(key: str, value: str, allowed: list[str]) -> None:
    if value not in allowed:
        raise DomainError(f"{key}:{value} — use one of {', '.join(allowed)}", field="q")


def ticket_search(
    *, query: SearchQuery, limit: int = 20, exclude_ticket_id: int | None = None
) -> list[SearchHit]:
    """Tickets matching `query`, best first (or by update/creation time)."""
    ticket_filter = _ticket_filter(query)
    if exclude_ticket_id is not None:
        ticket_filter = ticket_filter.exclude(pk=exclude_ticket_id)
    order = {"updated": "-updated_at", "created": "-created_at"}.get(query.sort)

    if not query.has_text:
        tickets = ticket_filter.select_related("handle", "assignee", "sla").order_by(
            order or "-updated_at", "-id"
        )[:limit]
        return [SearchHit(t, 0.0) for t in tickets]

    scores = _fulltext(query, limit=limit * 5 if order is None else 10_000)
    found = {
        t.pk: t
        for t in ticket_filter.filter(pk__in=list(scores)).select_related(
            "handle", "assignee", "sla"
        )
    }
    hits = [SearchHit(found[pk], score) for pk, score in scores.items() if pk in found]
    if order == "-updated_at":
        hits.sort(key=lambda h: (h.ticket.updated_at, h.ticket.pk), reverse=True)
    elif order == "-created_at":
        hits.sort(key=lambda h: (h.ticket.created_at, h.ticket.pk), reverse=True)
    else:
        hits.sort(key=lambda h: (-h.score, -h.ticket.pk))
    return hits[:limit]


def _ticket_filter(query: SearchQuery) -> QuerySet[Ticket]:
    """The tickets `query`'s filters keep (its words aside)."""
    ticket_filter = Ticket.objects.all()
    if query.status:
        ticket_filter = ticket_filter.filter(status=query.status)
    ticket_filter = ticket_filter_triage(
        ticket_filter,
        TriageFilter(intent=query.intent, sentiment=query.sentiment, context=query.context),
    )
    if query.handle:
        ticket_filter = ticket_filter.filter(handle__username__iexact=query.handle)
    if query.requester:
        ticket_filter = ticket_filter.filter(requester_username__iexact=query.requester)
    return ticket_filter


def ticket_search_count(*, query: SearchQuery, cap: int) -> int:
    """How many tickets `query` finds, counted up to `cap + 1` (the sidebar shows "cap+"):
    one count, after the full-text look-up when there are words."""
    ticket_filter = _ticket_filter(query)
    if query.has_text:
        ticket_filter = ticket_filter.filter(pk__in=list(_fulltext(query, limit=10_000)))
    return ticket_filter[: cap + 1].count()


def ticket_search_rows(*, query: SearchQuery, limit: int = 50) -> list[QueueRow]:
    """The tickets `ticket_search` finds, in its order, as queue rows (what
    tickets/queue.html#ticket-table draws): one query after the search's."""
    found = [hit.ticket.pk for hit in ticket_search(query=query, limit=limit)]
    rows = {r.pk: r for r in queue_rows(ticket_queue_rows(ticket_list().filter(pk__in=found)))}
    return [rows[pk] for pk in found if pk in rows]


def _fulltext(query: SearchQuery, *, limit: int) -> dict[int, float]:
    """Ticket id → relevance (higher is better) from the engine's full-text index."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # Every term quoted: user input never reaches FTS5's own query syntax.
            parts = [_fts5_quote(w) for w in query.words]
            parts += [_fts5_quote(p) for p in query.phrases]
            joiner = " OR " if query.match_any else " AND "
            cursor.execute(
                "SELECT rowid, -bm25(tickets_ticketdocument_fts) FROM tickets_ticketdocument_fts "
                "WHERE tickets_ticketdocument_fts MATCH %s "
                "ORDER BY bm25(tickets_ticketdocument_fts) LIMIT %s",
                [joiner.join(parts), limit],
            )
        else:
            parts = ["plainto_tsquery('english', %s)"] * len(query.words)
            parts += ["phraseto_tsquery('english', %s)"] * len(query.phrases)
            tsquery = (" || " if query.match_any else " && ").join(parts)
            cursor.execute(
                f"SELECT ticket_id, ts_rank(search, q) FROM tickets_ticketdocument, "  # noqa: S608
                f"(SELECT {tsquery}) AS q(q) WHERE search @@ q ORDER BY 2 DESC LIMIT %s",
                [*query.words, *query.phrases, limit],
            )
        return {int(pk): float(score) for pk, score in cursor.fetchall()}


def _fts5_quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def ticket_similar(*, ticket: Ticket, limit: int = 5) -> list[SearchHit]:
    """Solved tickets like `ticket`: its requester's words (any of them), relevance first.
    The seed: "search through all support tickets with these key words ... add
    status:solved"."""
    first = ticket.posts.filter(direction=Post.Direction.INBOUND).order_by("created_at").first()
    keywords = keywords_extract(first.text if first else ticket.subject, limit=12)
    if not keywords:
        return []
    query = SearchQuery(words=keywords, status=Ticket.Status.SOLVED, match_any=True)
    return ticket_search(query=query, limit=limit, exclude_ticket_id=ticket.pk)


def ticket_documents_refresh(*, ticket_ids: list[int] | None = None) -> int:
    """Rebuild the searchable text of tickets changed since the last refresh (or of
    `ticket_ids`). Returns how many documents were written."""
    now = timezone.now()
    if ticket_ids is None:
        since = TicketDocument.objects.aggregate(last=Max("refreshed_at"))["last"]
        changed = Ticket.objects.all()
        if since is not None:
            # A small overlap: a ticket saved in the same instant as the last refresh.
            changed = changed.filter(updated_at__gte=since - timedelta(seconds=1))
        ticket_ids = list(changed.values_list("pk", flat=True)[:5000])
    if not ticket_ids:
        return 0
    bodies: dict[int, list[str]] = {}
    for pk, subject, requester in Ticket.objects.filter(pk__in=ticket_ids).values_list(
        "pk", "subject", "requester_username"
    ):
        bodies[pk] = [f"@{requester}", subject]
    for ticket_id, text in (
        Post.objects.filter(ticket_id__in=ticket_ids, deleted_at=None)
        .order_by("created_at", "remote_id")
        .values_list("ticket_id", "text")
    ):
        bodies[ticket_id].append(text)
    documents = [
        TicketDocument(ticket_id=pk, body="\n".join(parts), refreshed_at=now)
        for pk, parts in bodies.items()
    ]
    with transaction.atomic():
        TicketDocument.objects.bulk_create(
            documents,
            update_conflicts=True,
            unique_fields=["ticket"],
            update_fields=["body", "refreshed_at"],
        )
    return len(documents)
