"""Reads of the X cost meter: spend per day, handle, kind and ticket, the month against its
budget, and what a reply will cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.channels.choices import UsageKind
from mentiondesk.core.errors import DomainError, Forbidden
from mentiondesk.policy.selectors import policy_current

from .billing import post_create_kind
from .models import BudgetAlert, XApiUsage

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


def usage_filtered(
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    handle: str = "",
    ticket: int | None = None,
    kind: str = "",
) -> QuerySet[XApiUsage]:
    """Ledger rows in the UTC day range (both ends included) for a handle (username), a
    ticket and a kind. Raises DomainError for an unknown kind or a reversed range."""
    if kind and kind not in UsageKind.values:
        raise DomainError(f"kind must be one of {', '.join(UsageKind.values)}", field="kind")
    if date_from and date_to and date_from > date_to:
        raise DomainError("date_from is after date_to", field="date_from")
    qs = XApiUsage.objects.all()
    if date_from:
        qs = qs.filter(day__gte=date_from)
    if date_to:
        qs = qs.filter(day__lte=date_to)
    if handle:
        qs = qs.filter(handle__username__iexact=handle.removeprefix("@"))
    if ticket is not None:
        qs = qs.filter(ticket_id=ticket)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def usage_grouped(*, qs: QuerySet[XApiUsage], by: tuple[str, ...]) -> list[dict[str, Any]]:
    """Sums of `qs` (requests, failed, units, amount) grouped by any of day, handle, kind and
    ticket, in that order."""
    unknown = [g for g in by if g not in GROUPS]
    if unknown:
        raise DomainError(f"group_by must be among {', '.join(GROUPS)}", field="group_by")
    fields = [{"handle": "handle__username", "ticket": "ticket_id"}.get(g, g) for g in by]
    rows = (
        qs.values(*fields)
        .annotate(
            n_requests=Sum("requests"),
            n_failed=Sum("failed"),
            n_units=Sum("units"),
            total=Sum("amount"),
        )
        .order_by(*fields)
    )
    names = dict(zip(fields, by, strict=True))
    return [
        {
            **{names[f]: row[f] for f in fields},
            "requests": row["n_requests"],
            "failed": row["n_failed"],
            "units": row["n_units"],
            "amount": _amount(row["total"]),
        }
        for row in rows
    ]


def _amount(value: Decimal | None) -> Decimal:
    return Decimal(value or 0).quantize(CENT_FRACTION)


def usage_total(*, qs: QuerySet[XApiUsage]) -> dict[str, Any]:
    totals = qs.aggregate(
        requests=Sum("requests"), failed=Sum("failed"), units=Sum("units"), amount=Sum("amount")
    )
    totals["amount"] = _amount(totals["amount"])
    return {key: value or 0 for key, value in totals.items()}


def usage_top_tickets(*, qs: QuerySet[XApiUsage], limit: int = 10) -> list[dict[str, Any]]:
    """The tickets that cost the most in `qs`, most expensive first."""
    return list(
        qs.filter(ticket__isnull=False)
        .values("ticket_id", "ticket__requester_username", "ticket__subject")
        .annotate(total=Sum("amount"), n_requests=Sum("requests"), rows=Count("id"))
        .order_by("-total", "ticket_id")[:limit]
    )


@dataclass(frozen=True)
class TicketSpend:
    amount: Decimal
    requests: int
    units: int
    currency: str
    by_kind: dict[str, int]  # label -> units


def ticket_spend(*, ticket_id: int) -> TicketSpend:
    """What X billed for one ticket: reading its posts, its replies, likes and deletes. Its
    `requests` are only those made for it alone (a poll's requests stay on the handle)."""
    rows = XApiUsage.objects.filter(ticket_id=ticket_id)
    by_kind = {
        UsageKind(kind).label: units
        for kind, units in rows.values_list("kind").annotate(n=Sum("units")).order_by("kind")
        if units
    }
    totals = usage_total(qs=rows)
    billing = policy_current().x_billing
    return TicketSpend(
        amount=totals["amount"],
        requests=totals["requests"],
        units=totals["units"],
        currency=billing.currency if billing else "",
        by_kind=by_kind,
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
