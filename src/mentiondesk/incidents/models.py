from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from mentiondesk.channels.models import Network
from mentiondesk.replies.models import Reply
from mentiondesk.tickets.models import Ticket


class Surge(models.Model):
    """An outage surge: availability reports that spiked past the policy's [surge] threshold,
    grouped under one incident card. Linked to the status page's open incident when there is
    one; answered in one click (each grouped ticket gets its own threaded reply through the
    outbox) and, once the incident is resolved, followed up once. One open surge per network."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    class ResolvedBy(models.TextChoices):
        STATUSPAGE = "statuspage", "The status page"
        PERSON = "person", "A person"

    network = models.CharField(max_length=20, choices=Network.choices, default=Network.X)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField()
    # The policy's figures when the surge opened: what the card says tripped it.
    threshold = models.PositiveIntegerField()
    window_minutes = models.PositiveIntegerField()
    # The status page's incident (Statuspage's id, link, name and status), when one is open.
    incident_remote_id = models.CharField(max_length=100, blank=True)
    incident_url = models.CharField(max_length=500, blank=True)
    incident_title = models.CharField(max_length=300, blank=True)
    incident_status = models.CharField(max_length=30, blank=True)
    # The one-click reply: who sent it first and which link it carried.
    replied_at = models.DateTimeField(null=True, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="surges_replied",
    )
    reply_url = models.CharField(max_length=500, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_source = models.CharField(max_length=20, choices=ResolvedBy.choices, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="surges_resolved",
    )
    followed_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["network"], condition=Q(status="open"), name="surge_one_open_per_network"
            )
        ]

    def __str__(self) -> str:
        return f"surge {self.pk} ({self.status})"

    @property
    def link(self) -> str:
        """The link replies carry: the incident's, else the one the first reply used."""
        return self.incident_url or self.reply_url


class SurgeTicket(models.Model):
    """One ticket grouped under a surge, with the reply and the follow-up it got (or why not).
    A ticket is grouped at most once, ever: it is answered about one incident once."""

    surge = models.ForeignKey(Surge, on_delete=models.CASCADE, related_name="members")
    ticket = models.OneToOneField(Ticket, on_delete=models.PROTECT, related_name="surge_member")
    grouped_at = models.DateTimeField()
    reply = models.ForeignKey(
        Reply, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reply_skipped = models.TextField(blank=True)
    follow_up = models.ForeignKey(
        Reply, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    follow_up_skipped = models.TextField(blank=True)

    class Meta:
        ordering = ["ticket__created_at", "ticket_id"]

    def __str__(self) -> str:
        return f"#{self.ticket_id} in surge {self.surge_id}"
