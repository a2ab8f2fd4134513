from __future__ import annotations

from django.conf import settings
from django.db import models


class PolicyVersion(models.Model):
    """Every policy file applied, verbatim: what was in force when, and who applied it."""

    source = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    content = models.TextField()
    applied_at = models.DateTimeField(auto_now_add=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-applied_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source} @ {self.applied_at:%Y-%m-%d %H:%M}"
