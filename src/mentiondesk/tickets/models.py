from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from mentiondesk.channels.connectors import network_facts
from mentiondesk.channels.models import REMOTE_ID_LENGTH, USERNAME_LENGTH, Handle, Network
from mentiondesk.core.intents import Intent

# The conditions of the partial indexes below. Queries meant to use one filter with
# `status__literal_in=` these tuples (core/lookups.py): SQLite matches a partial index only when
# the query spells out the same literal condition.
ACTIVE_STATUSES = ("new", "open", "pending", "solved")
QUEUE_STATUSES = ("new", "open")


class Ticket(models.Model):
    """One requester's conversation with us, open until solved. A follow-up from the same
    requester in the same conversation joins the ticket instead of opening another."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        OPEN = "open", "Open"
        PENDING = "pending", "Pending"
        SOLVED = "solved", "Solved"
        CLOSED = "closed", "Closed"

    network = models.CharField(max_length=20, choices=Network.choices, default=Network.X)
    handle = models.ForeignKey(Handle, on_delete=models.PROTECT, related_name="tickets")
    conversation_id = models.CharField(max_length=REMOTE_ID_LENGTH)
    requester_remote_id = models.CharField(max_length=REMOTE_ID_LENGTH)
    requester_username = models.CharField(max_length=USERNAME_LENGTH)
    subject = models.CharField(max_length=140, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    # When the requester first wrote (the mention's own time), not when we stored it: the
    # queue and the SLA both count from the mention.
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    last_inbound_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    intent = models.CharField(max_length=20, choices=Intent.choices, blank=True, default="")
    # How sure triage was of `intent` when it set it; None when a person (or the desk itself)
    # did. Below the policy's [triage] act_above the label is a suggestion (`tickets.gate`).
    intent_confidence = models.FloatField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["network", "conversation_id", "requester_remote_id"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="ticket_one_active_per_requester_conversation",
            ),
        ]
        indexes = [
            # Play mode: the oldest unassigned ticket of the queue.
            models.Index(
                fields=["created_at", "id"],
                condition=Q(assignee__isnull=True, status__in=QUEUE_STATUSES),
                name="ticket_unassigned_queue",
            ),
            models.Index(fields=["status", "created_at"]),
            # The queue page of the default view: open tickets, oldest first. Without it
            # PostgreSQL sorts every open ticket on each page view (bench/RESULTS.md, "Side by
            # side with django-helpdesk").
            models.Index(
                fields=["created_at", "id"],
                condition=Q(status__in=QUEUE_STATUSES),
                name="ticket_open_queue",
            ),
            # Play's first question, "does this advocate hold an open ticket?". Without it
            # PostgreSQL walks the open queue in order looking for the advocate's tickets:
            # 36 ms at 100,000 open tickets once the history has given it statistics
            # (bench/RESULTS.md, "Scale").
            models.Index(
                fields=["assignee", "created_at", "id"],
                condition=Q(status__in=QUEUE_STATUSES),
                name="ticket_held",
            ),
            # "All tickets", and the sidebar's capped count of it, in queue order.
            models.Index(fields=["created_at", "id"], name="ticket_created"),
            models.Index(fields=["assignee", "status"]),
            # Conversations whatever their tickets' status: the history import asks whether the
            # desk has any ticket there. Without it each of its lookups scans the table.
            models.Index(fields=["network", "conversation_id"]),
            # The ticket page's requester card: one person's tickets, newest first. Without it
            # each ticket page scans the table for them. The requester leads: led by the
            # network, SQLite took it for the Twitter view's network = 'x' and stopped walking
            # ticket_open_queue (tests/tickets/test_queue_plans.py).
            models.Index(
                fields=["requester_remote_id", "network", "-created_at"], name="ticket_requester"
            ),
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"#{self.pk} @{self.requester_username}"

    @property
    def requester_url(self) -> str:
        """The requester's profile on the ticket's network (on Mastodon, as the handle's
        instance shows any account, remote ones included)."""
        base_url = self.handle.base_url if self.handle_id else ""
        return network_facts(self.network).profile_url(self.requester_username, base_url)


class TicketEvent(models.Model):
    """Append-only log of what happened to a ticket, who did it and when."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        FOLLOW_UP = "follow_up", "Follow-up received"
        REOPENED = "reopened", "Reopened"
        ASSIGNED = "assigned", "Assigned"
        UNASSIGNED = "unassigned", "Unassigned"
        REPLY_QUEUED = "reply_queued", "Reply queued"
        REPLY_SENT = "reply_sent", "Reply sent"
        REPLY_NEEDS_ATTENTION = "reply_needs_attention", "Reply needs attention"
        REPLY_RETRIED = "reply_retried", "Reply sent again"
        REPLY_RECHECKED = "reply_rechecked", "Reply checked on X again"
        NOTE = "note", "Internal note"
        STATUS_CHANGED = "status_changed", "Status changed"
        INTENT_SET = "intent_set", "Intent set"
        HANDED_BACK = "handed_back", "Handed back"
        ESCALATED = "escalated", "Escalated"
        SPAM_REPORTED = "spam_reported", "Spam reported"
        RETWEET_SUGGESTED = "retweet_suggested", "Suggested for retweet"
        WRONG_HANDLE = "wrong_handle", "Wrong handle"
        LIKED = "liked", "Liked"
        POST_DELETED = "post_deleted", "Post deleted"
        ACTION_FAILED = "action_failed", "Action failed"
        DM_QUEUED = "dm_queued", "Direct message queued"
        COLLISION = "collision", "Send stopped"
        SURGE_GROUPED = "surge_grouped", "Grouped under an incident"
        SURGE_RESOLVED = "surge_resolved", "Incident resolved"
        ANSWERED_ELSEWHERE = "answered_elsewhere", "Answered from another client"
        ANOTHER_REPLY = "another_reply", "Another reply confirmed"
        TAKEN_OUT_OF_ORDER = "taken_out_of_order", "Taken out of order"
        RESPONSE_UNDONE = "response_undone", "Response undone"

    # PROTECT: audit rows are append-only, so what they point at is never deleted under them
    # (deactivate users instead of deleting them).
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} on #{self.ticket_id}"


class TicketPresence(models.Model):
    """Who has a ticket open right now, and whether they are typing. Refreshed by the page
    every few seconds; rows older than PRESENCE_TTL count as gone."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="presence")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    is_typing = models.BooleanField(default=False)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "user"], name="presence_one_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} on #{self.ticket_id}"


class TicketDocument(models.Model):
    """The searchable text of a ticket: its subject and every post, refreshed in the
    background (`ticket_documents_refresh`). The full-text index lives beside this table:
    an FTS5 table kept in step by triggers on SQLite, a generated tsvector column with a GIN
    index on PostgreSQL (migration 0004)."""

    ticket = models.OneToOneField(
        Ticket, primary_key=True, on_delete=models.CASCADE, related_name="document"
    )
    body = models.TextField()
    refreshed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"document of #{self.ticket_id}"


class SavedSearch(models.Model):
    """A search (tickets.search's syntax) kept under a name by its owner, shown in the
    sidebar with its live count. A shared one (only leads and admins share) shows for
    everyone; only its owner (or an admin) renames or deletes it."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches"
    )
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=500)
    is_shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="saved_search_name_per_owner")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.owner_id})"
