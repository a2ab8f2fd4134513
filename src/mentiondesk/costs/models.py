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
    """The set of resources (posts, users) X billed on each UTC day: X's daily deduplication,
    and what a poll's post reads cost each ticket.

    Billed first today: X bills a resource once per UTC day however often it is read, so
    the meter looks a batch's ids up here (by day and kind) and counts a unit only for the
    ones absent, which it then adds. One row per resource and day keeps that exact whatever
    the order of polls, sends and reconciles, and across handles (a post mentioning two of
    ours is billed once); a per-day counter could not tell a re-read from a new read.

    The same rows attribute reads: `usage` is the XApiUsage row a mark's unit went to (day,
    handle, endpoint, price). The ledger no longer keeps a row per ticket and flush; a
    report joins the marks of a poll's rows (no ticket) on the posts (same network as the
    row's handle, same remote id) and moves each unit, at `usage.unit_price`, from the
    handle to the post's ticket at report time (costs.selectors). Marks written before the
    ledger held aggregates have no `usage`: their units already sit on ticket rows.

    Compact on purpose: a day, a short kind, the id and a foreign key, inserted as plain
    values in one multi-row statement per flush (no model instances). Users' marks only
    serve the day's deduplication and are pruned once their day is over; posts' marks stay,
    one per post and day read (most posts are read on one day only), since they are the
    attribution."""

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
