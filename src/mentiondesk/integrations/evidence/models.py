from __future__ import annotations

from django.db import models


class EvidenceCache(models.Model):
    """One answer from an evidence source, kept until `expires_at`.

    A look-up row has `key` = a hash of the query (source URL, operation, keywords…) and
    `payload` = the evidence items shown in the panel. The row with key BACKOFF_KEY is the
    source-wide pause after a failure: while it has not expired, the source is not asked at
    all (a 429's Retry-After, or a short pause after a timeout or an error) and `error` says
    why. Rows are replaced in place (unique source + key); expired ones are deleted on write."""

    # Hash keys are hex digits, so this one can never collide with a query's key.
    BACKOFF_KEY = "!backoff"

    class Source(models.TextChoices):
        STATUSPAGE = "statuspage", "Status page"
        ISSUETRACKER = "issuetracker", "Issue tracker"
        FORUM = "forum", "Forum"
        HELPDESK = "helpdesk", "Support helpdesk"

    source = models.CharField(max_length=20, choices=Source.choices)
    key = models.CharField(max_length=64)
    # What was asked, for people reading the admin: "issues: runner token rotation 401".
    query = models.CharField(max_length=500, blank=True)
    payload = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    fetched_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "key"], name="evidence_cache_source_key"),
        ]
        indexes = [models.Index(fields=["source", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.source} evidence {self.key[:12]} (until {self.expires_at:%H:%M:%S})"


class TicketEvidence(models.Model):
    """The evidence sources' answers for one ticket, fetched right after ingest (and again
    whenever the card is refreshed), so the ticket page shows them at once without waiting
    on the network. `sources` maps each source to {items, error, configured, fetched_at}: a
    source that failed keeps its error here, for the card to show."""

    ticket = models.OneToOneField(
        "tickets.Ticket", primary_key=True, on_delete=models.CASCADE, related_name="evidence_stored"
    )
    sources = models.JSONField(default=dict)
    fetched_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"evidence of #{self.ticket_id} at {self.fetched_at:%H:%M:%S}"
