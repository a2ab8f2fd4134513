from __future__ import annotations

from django.db import models

from mentiondesk.channels.models import Handle


class WebhookEvent(models.Model):
    """One signed event POST from X, kept byte for byte. The event only says "something
    happened to this account": the posts themselves are read through a poll, so the webhook and
    the periodic poll share one idempotent path and can never store a post twice."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    received_at = models.DateTimeField(auto_now_add=True)
    raw = models.BinaryField()
    # SHA-256 of `raw`, hex. Unique so a replayed body is stored once even when two processes
    # receive it at the same moment. Null only on events kept before it existed.
    digest = models.CharField(max_length=64, null=True, blank=True, unique=True)
    for_user_id = models.CharField(max_length=40, blank=True)
    kinds = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    reason = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "received_at"])]

    def __str__(self) -> str:
        return f"webhook event #{self.pk} ({self.status})"


class WebhookPoll(models.Model):
    """When events last made the worker poll a handle, and how far ahead their pace is. One
    row per handle, moved forward by a conditional UPDATE, so two workers racing agree on which
    of them polls: webhook polls stay at one per handle per `WEBHOOK_POLL_MIN_SECONDS` on
    average, `WEBHOOK_POLL_BURST` in a row at most, whoever sends events."""

    handle = models.OneToOneField(Handle, on_delete=models.CASCADE, related_name="webhook_poll")
    polled_at = models.DateTimeField()
    # The pace's clock (a generic cell rate algorithm's theoretical arrival time): each poll
    # moves it one interval past the later of itself and now; a poll may start once it is
    # less than a burst of intervals ahead of now. Null on rows kept before it existed.
    paced_until = models.DateTimeField(null=True, blank=True)
    # When the deferred poll queued for events that found the pace spent is due; set by a
    # conditional UPDATE so one such poll is pending per handle however many events come, and
    # cleared by that poll when it runs. A time in the past means none is pending (a lost task
    # must not hold the next one back).
    deferred_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"webhook poll of handle #{self.handle_id} at {self.polled_at}"
