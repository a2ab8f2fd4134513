"""The one rule for whether a triage label may act: switch the reply handle, unlock a like,
group a ticket into a surge, send an automated message.

A label acts when a person gave it (a correction, or a ticket's intent set by hand), when a
policy [[triage_rule]] gave it (confidence 1.0), or when the model was at least the policy's
[triage] act_above sure. Anything less is a suggestion: shown to agents, acted on by nobody.
Observed on real tweets: a Spanish "403 with my token" read as availability would have moved
the reply to the status handle; a suggestion waits for a person instead.

With tickets (it reads a ticket's label), above triage, which only produces the labels."""

from __future__ import annotations

from django.db.models import Q

from mentiondesk.policy.selectors import policy_current
from mentiondesk.tickets.models import Ticket
from mentiondesk.triage.models import TriageResult


def triage_act_above() -> float:
    """The policy's [triage] act_above: the least confidence a model label acts with."""
    return policy_current().triage.act_above


def triage_confidence_acts(*, confidence: float | None, act_above: float | None = None) -> bool:
    """Whether a label of `confidence` acts; None is a person's label, which always does.
    `act_above` defaults to the policy's."""
    if confidence is None:
        return True
    return confidence >= (triage_act_above() if act_above is None else act_above)


def triage_result_acts(*, result: TriageResult, act_above: float | None = None) -> bool:
    """Whether `result`'s final label (a correction wins) acts."""
    confidence = None if result.corrected_intent else result.intent_confidence
    return triage_confidence_acts(confidence=confidence, act_above=act_above)


def ticket_intent_acts(*, ticket: Ticket, act_above: float | None = None) -> bool:
    """Whether `ticket.intent` acts (see `Ticket.intent_confidence`). No intent acts on
    nothing anyway."""
    return triage_confidence_acts(confidence=ticket.intent_confidence, act_above=act_above)


def tickets_intent_acting(*, act_above: float | None = None) -> Q:
    """`ticket_intent_acts` as a filter on Ticket, for the reads that group many tickets."""
    threshold = triage_act_above() if act_above is None else act_above
    return Q(intent_confidence__isnull=True) | Q(intent_confidence__gte=threshold)


def ticket_intent_suggested(*, ticket: Ticket, act_above: float | None = None) -> bool:
    """True when `ticket` has a label that is only a suggestion (for pages and reasons)."""
    return bool(ticket.intent) and not ticket_intent_acts(ticket=ticket, act_above=act_above)
