"""The X cost meter: calls reported by the connector become ledger rows, priced with the
policy's [x_billing], and the month's spend is checked against its budget."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from mentiondesk.channels.choices import UsageKind
from mentiondesk.channels.connectors.base import CallReport
from mentiondesk.channels.models import Handle
from mentiondesk.core.errors import DomainError
from mentiondesk.integrations.slack import services as slack_services
from mentiondesk.integrations.slack.models import SlackMessage
from mentiondesk.policy.schema.costs import XBilling
from mentiondesk.policy.selectors import policy_current

from .billing import Usage, call_usage
from .models import BilledResource, BudgetAlert
from .selectors import money, month_spend, month_start

logger = logging.getLogger(__name__)

# Ids per query: under SQLite's historical limit of 999 parameters.
CHUNK = 900


class UsageMeter:
    """Collects what one connector does for one handle (and ticket, when the work is for one)
    and writes it in one batch: `flush()` after the poll, the send or the action. Built by the
    caller (intake's poll, replies' sends and actions) and handed to
    `channels.services.handle_connection`, which installs it as the connector's recorder.
    Each call is reduced to its Usage at once, so a long poll keeps ids, not answers, until
    the flush."""

    def __init__(self, *, handle: Handle, ticket_id: int | None = None) -> None:
        self.handle = handle
        self.ticket_id = ticket_id
        self.usages: list[tuple[date, Usage]] = []

    def __call__(self, report: CallReport) -> None:
        day = timezone.now().astimezone(UTC).date()
        self.usages.extend((day, usage) for usage in call_usage(report))

    def flush(self) -> list[UsageLine]:
        """Record what was collected since the last flush (see `usage_record`)."""
        usages, self.usages = self.usages, []
        if not usages:
            return []
        return usage_record(handle=self.handle, ticket_id=self.ticket_id, usages=usages)


@dataclass(frozen=True)
class UsageLine:
    """What one flush added to one XApiUsage row (`usage_id`): its key and the counts."""

    usage_id: int
    day: date
    kind: str
    endpoint: str
    requests: int
    failed: int
    rate_limited: int
    units: int
    amount: Decimal


# (day, kind, endpoint) -> [requests, failed, rate_limited, units]
Totals = dict[tuple[date, str, str], list[int]]

# One statement per flush, whatever the number of rows: the conflict target is the unique
# index `xusage_one_row_per_key` (models.XApiUsage), expressions included, which SQLite
# (3.35+) and PostgreSQL both accept; RETURNING gives each row's id for BilledResource.
UPSERT = """
INSERT INTO costs_xapiusage
    (at, day, handle_id, ticket_id, kind, endpoint, unit_price, currency,
     requests, failed, rate_limited, units, amount)
VALUES {values}
ON CONFLICT (day, COALESCE(handle_id, 0), COALESCE(ticket_id, 0), kind, endpoint, unit_price,
             currency)
DO UPDATE SET
    requests = costs_xapiusage.requests + excluded.requests,
    failed = costs_xapiusage.failed + excluded.failed,
    rate_limited = costs_xapiusage.rate_limited + excluded.rate_limited,
    units = costs_xapiusage.units + excluded.units,
    amount = costs_xapiusage.amount + excluded.amount
RETURNING id, day, kind, endpoint
"""
BILLED_KNOWN = (
    "SELECT remote_id FROM costs_billedresource "
    "WHERE kind = %s AND day = %s AND remote_id IN ({ids})"
)
BILLED_INSERT = (
    "INSERT INTO costs_billedresource (day, kind, remote_id, usage_id) VALUES {values} "
    "ON CONFLICT DO NOTHING"
)


def usage_record(
    *, handle: Handle | None, ticket_id: int | None, usages: list[tuple[date, Usage]]
) -> list[UsageLine]:
    """Add `usages` (each with the UTC day of its call) to the ledger's running totals, one
    row per day, kind and endpoint for `handle` and `ticket_id`, priced with the policy in
    force: one upsert for the flush, whatever it read.

    Reads bill each resource once per UTC day, as X does: ids already in BilledResource for
    their day and kind cost nothing; the others cost a unit each, on the row of the first
    endpoint that returned them in this batch, and are recorded with that row's id, which is
    how reports attribute a poll's post reads to tickets (selectors). Soft, like X's own
    deduplication: two workers reading the same post at the same instant may both count it.
    Then checks the month's budget (`budget_check`). Returns what was added to each row."""
    billing = policy_current().x_billing
    totals: Totals = defaultdict(lambda: [0, 0, 0, 0])
    reads: list[tuple[date, Usage]] = []
    for day, usage in usages:
        row = totals[(day, usage.kind, usage.endpoint)]
        row[0] += usage.requests
        row[1] += usage.failed
        row[2] += usage.rate_limited
        row[3] += usage.units
        if usage.resource_ids:
            reads.append((day, usage))

    now = timezone.now()
    with transaction.atomic():
        # (day, kind, remote id) -> the endpoint whose row its unit goes to
        billed: dict[tuple[date, str, str], str] = {}
        if reads:
            fresh = _billed_first_today(reads)
            for day, usage in reads:
                unbilled = fresh[(day, usage.kind)]
                for rid in usage.resource_ids:
                    if rid in unbilled:
                        unbilled.discard(rid)
                        billed[(day, usage.kind, rid)] = usage.endpoint
                        totals[(day, usage.kind, usage.endpoint)][3] += 1
        lines = _usage_upsert(billing, at=now, handle=handle, ticket_id=ticket_id, totals=totals)
        if billed:
            ids = {(line.day, line.kind, line.endpoint): line.usage_id for line in lines}
            adapt = connection.ops.adapt_datefield_value
            _billed_insert(
                [
                    (adapt(day), kind, rid, ids[(day, kind, endpoint)])
                    # Sorted, as the upsert's rows: two flushes marking the same posts (a
                    # post mentioning two handles, polled by two workers) take their locks
                    # in one order on PostgreSQL, so neither deadlocks.
                    for (day, kind, rid), endpoint in sorted(billed.items())
                ]
            )
        if billing and any(line.amount for line in lines):
            budget_check(billing=billing, today=now.astimezone(UTC).date())
    return lines


def _usage_upsert(
    billing: XBilling | None,
    *,
    at: datetime,
    handle: Handle | None,
    ticket_id: int | None,
    totals: Totals,
) -> list[UsageLine]:
    """Add `totals` to their rows (created at the first flush of their key), one statement."""
    ops = connection.ops
    params: list[Any] = []
    added: dict[tuple[date, str, str], UsageLine] = {}
    for (day, kind, endpoint), (requests, failed, rate_limited, units) in sorted(totals.items()):
        if not requests and not units:  # an expansion that brought nothing new
            continue
        price = billing.price(kind) if billing else Decimal(0)
        amount = price * units
        params += [
            ops.adapt_datetimefield_value(at),
            ops.adapt_datefield_value(day),
            handle.pk if handle else None,
            ticket_id,
            kind,
            endpoint,
            ops.adapt_decimalfield_value(price, 12, 6),
            billing.currency if billing else "",
            requests,
            failed,
            rate_limited,
            units,
            ops.adapt_decimalfield_value(amount, 14, 6),
        ]
        added[(day, kind, endpoint)] = UsageLine(
            0, day, kind, endpoint, requests, failed, rate_limited, units, amount
        )
    if not added:
        return []
    one = "(" + ", ".join(["%s"] * 13) + ")"
    with connection.cursor() as cursor:
        cursor.execute(UPSERT.format(values=", ".join([one] * len(added))), params)
        returned = cursor.fetchall()
    lines = []
    for usage_id, day, kind, endpoint in returned:
        line = added[(_as_date(day), kind, endpoint)]
        lines.append(replace(line, usage_id=usage_id))
    return lines


def _billed_insert(marks: list[tuple[Any, str, str, int]]) -> None:
    """Insert billed marks, multi-row: one statement for a poll's page, not one a row (an
    executemany on PostgreSQL is a round of the pipeline per row)."""
    # As many marks as the database takes parameters (SQLite's 999 as Django counts them), at
    # most 1,000 (a backlog's flush marks tens of thousands).
    per_statement = min(1000, (connection.features.max_query_params or 4000) // 4)
    with connection.cursor() as cursor:
        for start in range(0, len(marks), per_statement):
            chunk = marks[start : start + per_statement]
            values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                BILLED_INSERT.format(values=values), [value for mark in chunk for value in mark]
            )


def _as_date(value: date | str) -> date:
    # SQLite answers a raw query's date column as text.
    return value if isinstance(value, date) else date.fromisoformat(value)


def _billed_first_today(
    reads: list[tuple[date, Usage]],
) -> dict[tuple[date, str], set[str]]:
    """The ids in `reads` not billed yet on their day, by day and kind (one query per day,
    kind and 900 ids). Prunes the users' marks of past days: X's window is one UTC day, and
    only posts' marks serve reports."""
    adapt = connection.ops.adapt_datefield_value
    wanted: dict[tuple[date, str], set[str]] = defaultdict(set)
    for day, usage in reads:
        wanted[(day, usage.kind)].update(usage.resource_ids)
    fresh: dict[tuple[date, str], set[str]] = {}
    for (day, kind), ids in wanted.items():
        known: set[str] = set()
        with connection.cursor() as cursor:
            for chunk in _chunks(ids):
                # Plain SQL: the ORM's lookup prepares each of the 900 ids one by one, a
                # third of a re-read's flush.
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(BILLED_KNOWN.format(ids=marks), [kind, adapt(day), *chunk])
                known.update(rid for (rid,) in cursor.fetchall())
        fresh[(day, kind)] = ids - known
    BilledResource.objects.filter(
        kind=UsageKind.USER_READ, day__lt=min(day for day, _ in wanted)
    ).delete()
    return fresh


def _chunks(ids: set[str]) -> Iterator[list[str]]:
    """`ids` in lists short enough for any database's limit on query parameters (a backlog
    poll reads tens of thousands of posts)."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def budget_check(*, billing: XBilling, today: date) -> BudgetAlert | None:
    """When this month's spend has reached the warning threshold, record the month's alert and
    queue one Slack warning to the policy's `alert_channel`, once per month (the alert's month
    is unique, so concurrent workers cannot both warn). Returns the alert when this call
    created it. Slack not configured: the alert is recorded (the banner shows) without a
    message."""
    threshold = billing.warn_amount
    if threshold is None:
        return None
    month = month_start(today)
    if BudgetAlert.objects.filter(month=month).exists():
        return None
    spend = month_spend(today=today)
    if spend < threshold:
        return None
    alert, created = BudgetAlert.objects.get_or_create(
        month=month,
        defaults={
            "spend": spend,
            "budget": billing.monthly_budget,
            "threshold": threshold,
            "currency": billing.currency,
        },
    )
    if not created:
        return None
    if billing.alert_channel:
        alert.slack_message = _slack_warning(alert=alert, billing=billing)
        alert.save(update_fields=["slack_message"])
    return alert


def _slack_warning(*, alert: BudgetAlert, billing: XBilling) -> SlackMessage | None:
    channel = policy_current().channel(billing.alert_channel)
    if channel is None:
        return None
    text = (
        f"X API spend for {alert.month:%B %Y} is {money(alert.spend, alert.currency)}: "
        f"{billing.warn_at_percent}% of the {money(alert.budget, alert.currency)} monthly "
        "budget reached. Per day, handle and ticket: "
        f"{_costs_url()}"
    )
    try:
        return slack_services.slack_message_enqueue(
            channel=channel.slack, text=text, purpose=SlackMessage.Purpose.OTHER
        )
    except DomainError as exc:  # Slack off: the banner still warns the leads
        logger.warning("X budget warning not posted to Slack: %s", exc)
        return None


def _costs_url() -> str:
    from django.conf import settings
    from django.urls import reverse

    return settings.BASE_URL + reverse("costs:page")
