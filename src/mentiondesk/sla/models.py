from __future__ import annotations

from django.db import models

from mentiondesk.tickets.models import Ticket

from .clock import METRICS


class Metric(models.TextChoices):
    FIRST_RESPONSE = METRICS[0], "First response"
    NEXT_RESPONSE = METRICS[1], "Next response"
    RESOLUTION = METRICS[2], "Resolution"


class TicketSla(models.Model):
    """A ticket's SLA as of its last refresh (services refresh it whenever the ticket's posts,
    status, intent or the policy change): the target it is measured against and its next
    deadline, so queues sort by time left without recomputing clocks."""

    ticket = models.OneToOneField(
        Ticket, primary_key=True, on_delete=models.CASCADE, related_name="sla"
    )
    # The [[sla.target]] that matched ("" when none did: no clocks).
    target = models.CharField(max_length=50, blank=True)
    priority = models.CharField(max_length=10)
    # The earliest deadline of a clock that is counting (past when overdue), and its metric.
    due_at = models.DateTimeField(null=True, blank=True)
    due_metric = models.CharField(max_length=20, choices=Metric.choices, blank=True)
    # From here on the ticket is about to breach: `due_at` less the policy's `warn_before`.
    warn_at = models.DateTimeField(null=True, blank=True)
    # Pending: a clock runs but counts nothing; `paused_seconds_left` of its target remain.
    paused_seconds_left = models.IntegerField(null=True, blank=True)
    # The first breach of a clock that no longer counts (answered late, or paused overdue).
    breached_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["due_at"])]

    def __str__(self) -> str:
        return f"SLA of #{self.ticket_id}"


class SlaClock(models.Model):
    """One clock of a ticket (see sla/clock.py), as of `TicketSla.refreshed_at`. Replaced
    whenever the ticket is refreshed. `elapsed_seconds` of a running clock is as of then;
    whether it is breached now is `due_at <= now`."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_clocks")
    metric = models.CharField(max_length=20, choices=Metric.choices)
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    target_seconds = models.IntegerField()
    elapsed_seconds = models.FloatField()
    is_paused = models.BooleanField(default=False)
    due_at = models.DateTimeField(null=True, blank=True)
    is_breached = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "metric", "started_at"], name="sla_clock_unique_start"
            )
        ]
        indexes = [
            # Reports: attainment per metric over time.
            models.Index(fields=["metric", "started_at"]),
            # The breach alert job: deadlines that passed.
            models.Index(fields=["due_at"]),
        ]
        ordering = ["ticket", "started_at", "metric"]

    def __str__(self) -> str:
        return f"{self.metric} of #{self.ticket_id} from {self.started_at:%Y-%m-%d %H:%M}"


class SlaBreach(models.Model):
    """A breach the desk announced. The unique key is what makes the Slack alert go out once,
    however many alert jobs run, and at the same time."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_breaches")
    metric = models.CharField(max_length=20, choices=Metric.choices)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    slack_message = models.ForeignKey(
        "slack.SlackMessage", null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "metric", "started_at"], name="sla_breach_once_per_clock"
            )
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.metric} breach on #{self.ticket_id}"
