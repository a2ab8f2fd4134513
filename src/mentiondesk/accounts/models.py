from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person on the team. `role` decides what the services let them do."""

    class Role(models.TextChoices):
        ADVOCATE = "advocate", "Advocate"
        LEAD = "lead", "Lead"
        INFRASTRUCTURE = "infrastructure", "Infrastructure"
        LIGHT_AGENT = "light_agent", "Light agent"
        ADMIN = "admin", "Admin"

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ADVOCATE)

    @property
    def can_reply(self) -> bool:
        return self.role != self.Role.LIGHT_AGENT

    @property
    def can_reassign(self) -> bool:
        return self.role in {self.Role.LEAD, self.Role.ADMIN}

    @property
    def sees_diagnostics(self) -> bool:
        """Whether pages show what runs the desk (X API spend, triage's model and confidence,
        setting names, commands) beside the work: leads and admins, who tune and pay for
        it; agents see the work alone."""
        return self.role in {self.Role.LEAD, self.Role.ADMIN}


class ApiToken(models.Model):
    """A bearer token for the REST API. Only a SHA-256 of the token is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
