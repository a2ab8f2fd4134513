from __future__ import annotations

from django.db import models

from mentiondesk.tickets.models import Intent

# Every intent but tickets' "not triaged": triage always decides.
INTENT_CHOICES = [(value, label) for value, label in Intent.choices if value]


class Sentiment(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEUTRAL = "neutral", "Neutral"
    NEGATIVE = "negative", "Negative"


class Context(models.TextChoices):
    HOSTED = "hosted", "Hosted service"
    SELF_MANAGED = "self_managed", "Self-managed"
    UNKNOWN = "unknown", "Unknown"


class Source(models.TextChoices):
    MODEL = "model", "Model"
    RULE = "rule", "Rule"
