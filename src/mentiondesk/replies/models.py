from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from mentiondesk.channels.models import REMOTE_ID_LENGTH, Handle, Post
from mentiondesk.tickets.models import Ticket


class Reply(models.Model):
    """Something we write on the network, in the outbox: a reply on a ticket, a direct
    message to its requester, or a status update. Written first, sent by a worker, at most
    once."""

    class Kind(models.TextChoices):
        REPLY = "reply", "Reply"
        DM = "dm", "Direct message"
        STATUS_UPDATE = "status_update", "Status update"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.REPLY)
    # None only for status updates, which answer nobody in particular.
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    handle = models.ForeignKey(Handle, on_delete=models.PROTECT, related_name="replies")
    handle_reason = models.CharField(max_length=300, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="replies"
    )
    text = models.TextField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    idempotency_key = models.CharField(max_length=100, unique=True, default=uuid.uuid4)
    # Chosen when the send starts, so a follow-up that arrived in the meantime is answered.
    in_reply_to_remote_id = models.CharField(max_length=REMOTE_ID_LENGTH, blank=True)
    post = models.OneToOneField(
        Post, null=True, blank=True, on_delete=models.SET_NULL, related_name="reply"
    )
    reason = models.TextField(blank=True)
    # Why a DM was needed (policy may require one); for a status update, the incident link.
    purpose = models.CharField(max_length=300, blank=True)
    # Status updates: follow up on every open availability ticket once this is sent.
    follow_up_open_reports = models.BooleanField(default=False)
    # Status updates: the open reports their follow-up skipped, {ticket id: why}.
    follow_up_skipped = models.JSONField(default=dict, blank=True)
    # Sent for the team (incident replies, status follow-ups, all-clears), not by a person;
    # `automation_phase` is the incident phase it belongs to: one per ticket and phase.
    is_automated = models.BooleanField(default=False)
    automation_phase = models.CharField(max_length=20, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # When the last send began, and where a search of our timeline for its post (an unknown
    # outcome) goes on after X's rate limit cut it short: services.reconcile.SearchProgress.
    search_progress = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "not_before"])]
        verbose_name_plural = "replies"
        constraints = [
            # Automation's manners, enforced across processes: one message per phase.
            models.UniqueConstraint(
                fields=["ticket", "automation_phase"],
                condition=~models.Q(automation_phase=""),
                name="reply_one_automated_per_ticket_phase",
            )
        ]

    def __str__(self) -> str:
        return f"reply {self.pk} ({self.status})"


class PostAction(models.Model):
    """A like or a delete on the network, run by a worker. Both are safe to repeat (liking twice
    or deleting a deleted post changes nothing), so they simply retry until done."""

    class Kind(models.TextChoices):
        LIKE = "like", "Like"
        DELETE = "delete", "Delete"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="actions")
    handle = models.ForeignKey(Handle, on_delete=models.PROTECT, related_name="actions")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT)
    reason = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    detail = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.post_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One try at sending a reply, recorded when a worker claims the reply and closed after.

    `request_started_at` is committed just before the request to the network leaves: an
    attempt without it sent nothing (the worker died, or lost its database, before sending),
    so only attempts with it can have reached the network (`services.reply_may_have_left`)."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        UNREACHABLE = "unreachable", "Network unreachable"
        RATE_LIMITED = "rate_limited", "Rate limited"
        REJECTED = "rejected", "Rejected"
        UNKNOWN = "unknown", "Outcome unknown"
        RECONCILED_FOUND = "reconciled_found", "Found on the network"
        RECONCILED_MISSING = "reconciled_missing", "Not found on the network"
        STOPPED = "stopped", "Stopped: the conversation moved on"
        NOT_SENT = "not_sent", "Stopped before the request left"

    reply = models.ForeignKey(Reply, on_delete=models.CASCADE, related_name="attempts_log")
    in_reply_to_remote_id = models.CharField(max_length=REMOTE_ID_LENGTH, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    detail = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    request_started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"attempt {self.pk} of reply {self.reply_id}: {self.outcome}"
