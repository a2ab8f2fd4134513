"""What a post is about: the one list of intents. The ticket and triage models, the policy
file's checks, the API's schema, the evaluation's labels and the pages' order all derive
from `Intent`; a new intent is added here and nowhere else.

It lives in `core` because its users sit on different floors: the policy schema (below
tickets, which reads the policy), tickets, triage (above tickets) and the API. Only the
foundation is below all of them. It imports nothing of ours."""

from __future__ import annotations

from django.db import models


# In display order. UNKNOWN is a ticket's "not triaged"; triage always decides.
class Intent(models.TextChoices):
    """What a post is about ("" = not triaged)."""

    UNKNOWN = "", "Not triaged"
    AVAILABILITY = "availability", "Availability"
    SPAM_REPORT = "spam_report", "Spam report"
    BUG_REPORT = "bug_report", "Bug report"
    FEATURE_REQUEST = "feature_request", "Feature request"
    SUPPORT_QUESTION = "support_question", "Support question"
    PRAISE = "praise", "Praise"
    OTHER = "other", "Other"


# The intents triage gives and a policy may name: every one but "not triaged".
INTENTS: tuple[str, ...] = tuple(value for value in Intent.values if value)
INTENT_CHOICES: list[tuple[str, str]] = [(v, label) for v, label in Intent.choices if v]
