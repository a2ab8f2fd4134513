from __future__ import annotations

from django.db import models
from django.utils import timezone

from mentiondesk.channels.choices import UsageKind


class XApiUsage(models.Model):
    """Append-only ledger of what the desk asked of X: one row per (kind, endpoint, ticket) for
    each batch of calls (one poll of a handle, one reply sent, one like), never updated.

    `requests` counts HTTP requests that reached X (`failed` of them got no success answer);
    `units` is what X bills for them: resources returned for reads, accepted requests for
    writes. `amount` = units * `unit_price`, priced with the policy in force when recorded, so
    history keeps the prices it was billed at. A read split over several tickets carries its
    request on the row without a ticket and only units on the ticket rows."""

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
    """X's daily deduplication: a post or user already billed on this UTC day is not billed
    again that day. Only today's rows matter; older ones are pruned as the meter writes."""

    day = models.DateField()
    kind = models.CharField(max_length=30, choices=UsageKind.choices)
    remote_id = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "kind", "remote_id"], name="billedresource_once_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.remote_id}"
