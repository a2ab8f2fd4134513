from __future__ import annotations

from django.conf import settings
from django.db import models

from mentiondesk.tickets.models import Ticket


class SlackMessage(models.Model):
    """A message to one of the team's Slack channels, in the Slack outbox.

    Written first, posted by a worker with retries and backoff; `status`, `attempts` and
    `last_error` say where it is, `permalink` links to it once posted. A `sent` message is
    never posted again."""

    class Purpose(models.TextChoices):
        ESCALATION = "escalation", "Escalation to experts"
        SPAM_REPORT = "spam_report", "Spam report"
        RETWEET_SUGGESTION = "retweet_suggestion", "Retweet suggestion"
        SLA_BREACH = "sla_breach", "SLA breach alert"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    # A channel name without the "#" (`abuse`) or a channel id (`C4UGNMF9A`).
    channel = models.CharField(max_length=80)
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.OTHER)
    text = models.TextField()
    # Optional Block Kit layout; `text` is still sent, as the notification and fallback text.
    blocks = models.JSONField(default=list, blank=True)
    ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="slack_messages",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="slack_messages",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    # When a worker may try next. While a worker is posting, it is pushed past the request's
    # timeout, so that no other worker picks the message up meanwhile.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Slack's message timestamp: the message's id within its channel.
    slack_ts = models.CharField(max_length=32, blank=True)
    # The channel id Slack posted to (a name is resolved by Slack).
    slack_channel_id = models.CharField(max_length=32, blank=True)
    permalink = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["ticket", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"slack message {self.pk} to #{self.channel} ({self.status})"
