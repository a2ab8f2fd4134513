"""Reads of the X cost meter: spend per day, handle, kind and ticket, the month against its
budget, and what a reply will cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.channels.choices import UsageKind
from mentiondesk.channels.models import Post
from mentiondesk.core.errors import DomainError, Forbidden
from mentiondesk.policy.selectors import policy_current
from mentiondesk.tickets.models import Ticket

from .billing import post_create_kind
from .models import BilledResource, BudgetAlert, XApiUsage

GROUPS = ("day", "handle", "kind", "ticket")
# Ledger amounts have six decimals; SQLite's SUM answers with more digits than that.
CENT_FRACTION = Decimal("0.000001")
COST_ROLES = (User.Role.LEAD, User.Role.ADMIN)


def costs_viewer_check(*, viewer: User) -> None:
    """Raises Forbidden unless `viewer` may read the cost meter (leads and admins)."""
    if viewer.role not in COST_ROLES:
        raise Forbidden("only leads and admins can see what the X API costs")


def utc_today() -> date:
    return timezone.now().astimezone(UTC).date()


def month_start(today: date) -> date:
    return today.replace(day=1)


def month_spend(*, today: date) -> Decimal:
    """What the ledger says this UTC month cost up to `today`."""
    total = XApiUsage.objects.filter(day__gte=month_start(today), day__lte=today).aggregate(
        total=Sum("amount")
    )["total"]
    return _amount(total)


def money(amount: Decimal | None, currency: str) -> str:
    """`amount` for people: two decimals, or as many as a fraction of a cent needs."""
    if amount is None:
        return ""
    shown = f"{amount:.2f}" if amount == round(amount, 2) else f"{amount.normalize():f}"
    return f"{shown} {currency}".strip()


@dataclass(frozen=True)
class BudgetStatus:
    month: date
    spend: Decimal
    budget: Decimal
    warn_amount: Decimal
    currency: str
    alerted_at: datetime | None

    @property
    def level(self) -> str:
        """ok, warning (past the threshold) or over (past the budget)."""
        if self.spend >= self.budget:
            return "over"
        return "warning" if self.spend >= self.warn_amount else "ok"

    @property
    def percent(self) -> int:
        return int(self.spend * 100 / self.budget) if self.budget else 0


def budget_status(*, today: date | None = None) -> BudgetStatus | None:
    """This month against the policy's monthly budget; None without a budget."""
    billing = policy_current().x_billing
    if billing is None or billing.monthly_budget is None or billing.warn_amount is None:
        return None
    today = today or utc_today()
    alert = BudgetAlert.objects.filter(month=month_start(today)).first()
    return BudgetStatus(
        month=month_start(today),
        spend=month_spend(today=today),
        budget=billing.monthly_budget,
        warn_amount=billing.warn_amount,
        currency=billing.currency,
        alerted_at=alert.created_at if alert else None,
    )


@dataclass(frozen=True)
class UsageQuery:
    """What a report reads: the ledger rows a filter selects (`rows`), and the billed post
    reads of the polls among them whose post is on a ticket (`reads`, each annotated with
    `read_ticket`). Reports move each such read's unit, at its row's price, from the handle's
    row to the ticket of the post read: that is how a poll's reads reach tickets (see
    models.BilledResource). With a ticket filter, `rows` are the work done for that ticket
    and `reads` the reads of its posts."""

    rows: QuerySet[XApiUsage]
    reads: QuerySet[BilledResource]
    ticket: int | None


def usage_filtered(
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    handle: str = "",
    ticket: int | None = None,
    kind: str = "",
) -> UsageQuery:
    """The ledger in the UTC day range (both ends included) for a handle (username), a ticket
    and a kind. Raises DomainError for an unknown kind or a reversed range."""
    if kind and kind not in UsageKind.values:
        raise DomainError(f"kind must be one of {', '.join(UsageKind.values)}", field="kind")
    if date_from and date_to and date_from > date_to:
        raise DomainError("date_from is after date_to", field="date_from")
    rows = XApiUsage.objects.all()
    # Reads of rows written before the ledger held aggregates have no `usage`: their units
    # are on ticket rows already.
    reads = BilledResource.objects.filter(
        kind=UsageKind.POST_READ, usage__isnull=False, usage__ticket__isnull=True
    )
    # A read's day is its row's: filtering the rows lets a range start from the few ledger
    # rows of its days, not from every post ever billed.
    if date_from:
        rows = rows.filter(day__gte=date_from)
        reads = reads.filter(usage__day__gte=date_from)
    if date_to:
        rows = rows.filter(day__lte=date_to)
        reads = reads.filter(usage__day__lte=date_to)
    if handle:
        rows = rows.filter(handle__username__iexact=handle.removeprefix("@"))
        reads = reads.filter(usage__handle__username__iexact=handle.removeprefix("@"))
    if kind:
        rows = rows.filter(kind=kind)
        reads = reads.filter(usage__kind=kind)
    post_read = Post.objects.filter(
        network=OuterRef("usage__handle__network"), remote_id=OuterRef("remote_id")
    ).order_by()
    reads = reads.annotate(read_ticket=Subquery(post_read.values("ticket_id")[:1])).filter(
        read_ticket__isnull=False
    )
    if ticket is not None:
        rows = rows.filter(ticket_id=ticket)
        # Through the ticket's posts' ids first: the unique index starts with kind and id.
        reads = reads.filter(
            remote_id__in=Post.objects.filter(ticket_id=ticket).values("remote_id"),
            read_ticket=ticket,
        )
    return UsageQuery(rows=rows, reads=reads, ticket=ticket)


# A group's sums: requests, failed, units, amount.
Sums = list[Any]
ROW_FIELDS = {"handle": "handle__username", "ticket": "ticket_id"}
READ_FIELDS = {
    "day": "day",
    "handle": "usage__handle__username",
    "kind": "usage__kind",
    "ticket": "read_ticket",
}


def _sums(usage: UsageQuery, by: tuple[str, ...]) -> dict[tuple[Any, ...], Sums]:
    """Sums per group of `by`: the ledger rows' own, then each attributed read's unit moved
    from its handle's row (ticket None) to its post's ticket."""
    fields = [ROW_FIELDS.get(g, g) for g in by]
    groups: dict[tuple[Any, ...], Sums] = {}
    sums = {
        "n_requests": Sum("requests"),
        "n_failed": Sum("failed"),
        "n_units": Sum("units"),
        "total": Sum("amount"),
    }
    for row in _grouped(usage.rows, fields, sums):
        groups[tuple(row[f] for f in fields)] = [
            row["n_requests"] or 0,
            row["n_failed"] or 0,
            row["n_units"] or 0,
            _amount(row["total"]),
        ]
    if usage.ticket is None and "ticket" not in by:
        return groups  # moving units between tickets changes no other group
    read_fields = [READ_FIELDS[g] for g in by]
    at = by.index("ticket") if "ticket" in by else -1
    read_sums = {"n_units": Count("id"), "total": Sum("usage__unit_price")}
    for row in _grouped(usage.reads, read_fields, read_sums):
        key = tuple(row[f] for f in read_fields)
        units, amount = row["n_units"], _amount(row["total"])
        to = groups.setdefault(key, [0, 0, 0, Decimal(0)])
        to[2] += units
        to[3] += amount
        if usage.ticket is None:  # the handle's row (ticket None) had them all
            source = groups.setdefault((*key[:at], None, *key[at + 1 :]), [0, 0, 0, Decimal(0)])
            source[2] -= units
            source[3] -= amount
    return {key: sums for key, sums in groups.items() if any(sums)}


def _grouped(qs: QuerySet[Any], fields: list[str], sums: dict[str, Any]) -> list[dict[str, Any]]:
    """`sums` of `qs` per group of `fields`; no fields: one group (`values()` without fields
    would group by every column)."""
    if not fields:
        return [qs.aggregate(**sums)]
    return list(qs.values(*fields).annotate(**sums).order_by())


def _order(value: Any) -> tuple[bool, Any]:
    return value is None, value  # None last, as PostgreSQL orders it


def usage_grouped(*, usage: UsageQuery, by: tuple[str, ...]) -> list[dict[str, Any]]:
    """Sums of `usage` (requests, failed, units, amount) grouped by any of day, handle, kind
    and ticket, in that order."""
    unknown = [g for g in by if g not in GROUPS]
    if unknown:
        raise DomainError(f"group_by must be among {', '.join(GROUPS)}", field="group_by")
    groups = _sums(usage, by)
    return [
        {
            **dict(zip(by, key, strict=True)),
            "requests": requests,
            "failed": failed,
            "units": units,
            "amount": amount,
        }
        for key, (requests, failed, units, amount) in sorted(
            groups.items(), key=lambda item: tuple(_order(v) for v in item[0])
        )
    ]


def _amount(value: Decimal | None) -> Decimal:
    return Decimal(value or 0).quantize(CENT_FRACTION)


def usage_total(*, usage: UsageQuery) -> dict[str, Any]:
    requests, failed, units, amount = _sums(usage, ()).get((), [0, 0, 0, Decimal(0)])
    return {
        "requests": requests,
        "failed": failed,
        "units": units,
        "amount": _amount(amount),
    }


def usage_top_tickets(*, usage: UsageQuery, limit: int = 10) -> list[dict[str, Any]]:
    """The tickets that cost the most in `usage`, most expensive first."""
    spend = {key[0]: sums for key, sums in _sums(usage, ("ticket",)).items() if key[0] is not None}
    top = sorted(spend.items(), key=lambda item: (-item[1][3], item[0]))[:limit]
    tickets = Ticket.objects.only("requester_username", "subject").in_bulk(
        [ticket_id for ticket_id, _ in top]
    )
    return [
        {
            "ticket_id": ticket_id,
            "ticket__requester_username": tickets[ticket_id].requester_username,
            "ticket__subject": tickets[ticket_id].subject,
            "total": amount,
            "n_requests": requests,
        }
        for ticket_id, (requests, _, _, amount) in top
        if ticket_id in tickets
    ]


@dataclass(frozen=True)
class TicketSpend:
    amount: Decimal
    requests: int
    units: int
    currency: str
    by_kind: dict[str, int]  # label -> units


def ticket_spend(*, ticket_id: int) -> TicketSpend:
    """What X billed for one ticket: reading its posts, its replies, likes and deletes. Its
    `requests` are only those made for it alone (a poll's requests stay on the handle). Two
    queries."""
    kinds = usage_grouped(usage=usage_filtered(ticket=ticket_id), by=("kind",))
    billing = policy_current().x_billing
    return TicketSpend(
        amount=_amount(sum((row["amount"] for row in kinds), Decimal(0))),
        requests=sum(row["requests"] for row in kinds),
        units=sum(row["units"] for row in kinds),
        currency=billing.currency if billing else "",
        by_kind={UsageKind(row["kind"]).label: row["units"] for row in kinds if row["units"]},
    )


@dataclass(frozen=True)
class ReplyEstimate:
    """What X will bill to post a reply with `text`, next to the same reply without a link."""

    kind: str
    price: Decimal | None  # None: no [x_billing] prices in the policy
    plain_price: Decimal | None
    link_price: Decimal | None
    currency: str

    @property
    def has_link(self) -> bool:
        return self.kind == UsageKind.POST_CREATE_WITH_URL

    @property
    def multiple(self) -> Decimal | None:
        """How many times a plain reply the link makes it cost (None when unknown)."""
        if self.link_price is None or not self.plain_price:
            return None
        return (self.link_price / self.plain_price).quantize(Decimal("0.1"))

    @property
    def hint(self) -> str:
        if not self.has_link:
            return ""
        if self.price is None:
            return "This reply has a link: X bills a post with a link far above a plain one."
        times = f" ({self.multiple.normalize():f} times as much)" if self.multiple else ""
        return (
            f"This reply has a link: X bills it {money(self.price, self.currency)} instead of "
            f"{money(self.plain_price, self.currency)}{times}."
        )


def reply_estimate(*, text: str) -> ReplyEstimate:
    """The kind and price X bills for posting `text` (server side of the composer's hint)."""
    billing = policy_current().x_billing
    kind = post_create_kind(text)
    return ReplyEstimate(
        kind=kind,
        price=billing.price(kind) if billing else None,
        plain_price=billing.price(UsageKind.POST_CREATE) if billing else None,
        link_price=billing.price(UsageKind.POST_CREATE_WITH_URL) if billing else None,
        currency=billing.currency if billing else "",
    )
