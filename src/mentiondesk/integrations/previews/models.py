from __future__ import annotations

from django.db import models

from .choices import PreviewStatus
from .constants import MAX_TITLE_CHARS, MAX_URL_CHARS


class LinkPreview(models.Model):
    """What the page behind a link in a post is: its title and domain, for agents to see the
    context without visiting it. One row per URL visited (a post's `expanded_url`, or its
    short link when the network gave none), refreshed when older than a day.

    A link that was refused (not http(s), or not a public address) or failed (timeout, HTTP
    error, not HTML…) is stored too, with the reason in `error`, so it is not tried again at
    every mention."""

    Status = PreviewStatus

    url = models.CharField(max_length=MAX_URL_CHARS, unique=True)
    # Where the redirects ended: the page the title belongs to.
    final_url = models.CharField(max_length=MAX_URL_CHARS, blank=True)
    # The final host in ASCII (xn--… for international names): look-alike characters cannot
    # pass for another domain.
    domain = models.CharField(max_length=255, blank=True)
    title = models.CharField(max_length=MAX_TITLE_CHARS, blank=True)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=PreviewStatus.choices)
    error = models.TextField(blank=True)
    fetched_at = models.DateTimeField()

    class Meta:
        ordering = ["-fetched_at", "id"]

    def __str__(self) -> str:
        return f"{self.url} ({self.status})"
