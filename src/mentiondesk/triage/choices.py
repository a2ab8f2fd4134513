from __future__ import annotations

from django.db import models


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
