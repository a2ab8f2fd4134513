from __future__ import annotations

from django.conf import settings
from django.db import models

from mentiondesk.core.intents import INTENT_CHOICES

from .choices import Context, Sentiment, Source


class TriageResult(models.Model):
    """What triage made of one inbound post: intent (from the model or a rule), sentiment,
    product context and the evidence for them. An agent's correction is kept beside the
    original label, never over it: the pair is labelled data (`mentiondesk triage export`)."""

    post = models.OneToOneField("channels.Post", on_delete=models.CASCADE, related_name="triage")
    intent = models.CharField(max_length=30, choices=INTENT_CHOICES)
    intent_confidence = models.FloatField()
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices)
    context = models.CharField(max_length=20, choices=Context.choices)
    evidence = models.JSONField(default=list, blank=True)
    # "intent-<hash>+sentiment-<hash>": which shipped models decided, for re-triage later.
    model_version = models.CharField(max_length=80)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MODEL)
    corrected_intent = models.CharField(max_length=30, choices=INTENT_CHOICES, blank=True)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="triage_corrections",
    )
    corrected_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["corrected_at"])]

    def __str__(self) -> str:
        return f"post {self.post_id}: {self.final_intent}"

    @property
    def intent_model(self) -> str:
        """The intent model's version alone ("intent-3f2a…"): the part that chose the label."""
        return intent_model_of(self.model_version)

    @property
    def rule_name(self) -> str:
        """The policy [[triage_rule]] that chose the label ("" when the model did): its
        evidence reads "rule: <name> (…)" and names are slugs."""
        if self.source != "rule" or not self.evidence:
            return ""
        return str(self.evidence[0]).removeprefix("rule: ").split(" ", 1)[0]

    @property
    def final_intent(self) -> str:
        """The agent's correction when there is one, else triage's label."""
        return self.corrected_intent or self.intent


def intent_model_of(model_version: str) -> str:
    """The intent model's part of a stored `model_version` ("intent-…+sentiment-…")."""
    return model_version.split("+", 1)[0]
