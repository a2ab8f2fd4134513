from __future__ import annotations

from django.db import models


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
    for_user_id = models.CharField(max_length=40, blank=True)
    kinds = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    reason = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "received_at"])]

    def __str__(self) -> str:
        return f"webhook event #{self.pk} ({self.status})"
