from __future__ import annotations

from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from mentiondesk.channels.choices import UsageKind


class XApiUsage(models.Model):
    """What the desk asked of X, as running totals: one row per UTC day, handle, ticket, kind,
    endpoint and price, which every meter flush adds to in one upsert (`usage_record`).

    `ticket` is the ticket the work was done for (a reply sent, a like, a reconcile read);
    a poll's rows have none. The posts a poll read are attributed to their tickets when a
    report asks (selectors, through BilledResource), not here. `requests` counts HTTP
    requests that reached X (`failed` of them got no success answer); `units` is what X bills
    for them: resources returned for reads, accepted requests for writes. `amount` = units *
    `unit_price`: the price is part of the row's key, so a policy changing prices mid-day
    starts new rows and history keeps the prices it was billed at. `at` is when the row was
    first written."""

    at = models.DateTimeField(default=timezone.now)
    day = models.DateField()  # UTC day, as X's billing counts days
    handle = models.ForeignKey(
        "channels.Handle", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=30, choices=UsageKind.choices)
    endpoint = models.CharField(max_length=100)
    requests = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    rate_limited = models.PositiveIntegerField(default=0)  # of `failed`: X's 429s
    units = models.PositiveIntegerField(default=0)
    unit_price = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    amount = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    currency = models.CharField(max_length=3, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["day", "handle"], name="xusage_day_handle"),
            models.Index(fields=["ticket"], name="xusage_ticket"),
        ]
        constraints = [
            # The upsert's conflict target (services.UPSERT names the same expressions):
            # NULLs are distinct in a plain unique index, so the handle and ticket are keyed
            # as 0 when absent (ids start at 1).
            models.UniqueConstraint(
                F("day"),
                Coalesce(F("handle"), Value(0)),
                Coalesce(F("ticket"), Value(0)),
                F("kind"),
                F("endpoint"),
                F("unit_price"),
                F("currency"),
                name="xusage_one_row_per_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.units} units"


class BudgetAlert(models.Model):
    """The month's spend crossed the policy's warning threshold. One row per month (unique):
    the Slack warning goes out once, whichever worker crosses first."""

    month = models.DateField(unique=True)  # first day of the month, UTC
    spend = models.DecimalField(max_digits=14, decimal_places=6)
    budget = models.DecimalField(max_digits=14, decimal_places=2)
    threshold = models.DecimalField(max_digits=14, decimal_places=6)
    currency = models.CharField(max_length=3)
    slack_message = models.ForeignKey(
        "slack.SlackMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: {self.spend} of {self.budget} {self.currency}"


class BilledResource(models.Model):
    """X's daily deduplication, and what a poll's post reads cost each ticket.

    One row per resource (post or user) billed on a UTC day: a resource read again that day
    is not billed again, so the meter looks today's ids up before counting units. `usage` is
    the XApiUsage row its unit went to (day, handle, endpoint, price): a report attributes a
    poll's post reads to tickets by joining these rows on the posts of the ticket (same
    network, same remote id), priced with `usage.unit_price`. Rows of the ledger written
    before rows were aggregates have no `usage`: their units already sit on ticket rows.

    Compact on purpose: a day, a short kind, the id and a foreign key, written as plain
    tuples in one executemany per flush. Users' rows only serve the day's deduplication and
    are pruned once their day is over; posts' rows stay, since they are the attribution."""

    day = models.DateField()
    kind = models.CharField(max_length=30, choices=UsageKind.choices)
    remote_id = models.CharField(max_length=40)
    usage = models.ForeignKey(
        XApiUsage, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            # Kind and id first: a ticket's cost looks its posts' ids up without a day.
            models.UniqueConstraint(
                fields=["kind", "remote_id", "day"], name="billedresource_once_per_day"
            ),
        ]
        indexes = [
            # The prune of past days' user marks, on every flush: only the users' rows.
            models.Index(
                fields=["day"],
                condition=Q(kind=UsageKind.USER_READ),
                name="billedresource_user_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.remote_id}"
