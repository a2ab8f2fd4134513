"""Automation's manners: the one rule every message the desk sends for the team obeys
(incident replies, status update follow-ups, all-clears), checked by `reply_create` under the
ticket's lock for every `automated` reply.

Observed on real traffic: three automated messages to one requester within 90 s, "are you
still experiencing issues?" to someone who had just written "confirmed fixed, thank you!" and
to a post triage labelled availability with 30% confidence. So an automated message goes only
to a requester whose latest post is an unanswered report of what the message is about, at
most once per ticket and incident phase."""

from __future__ import annotations

from mentiondesk.channels.models import Post
from mentiondesk.core.errors import DomainError
from mentiondesk.core.intents import Intent
from mentiondesk.policy.selectors import policy_current
from mentiondesk.replies import selectors as reply_selectors
from mentiondesk.tickets import selectors as ticket_selectors
from mentiondesk.tickets.gate import triage_result_acts
from mentiondesk.tickets.models import Ticket
from mentiondesk.triage.models import TriageResult

from ..models import Reply

# "We know, here is the incident": the surge reply and the status update follow-up.
PHASE_INCIDENT = "incident"
# The all-clear once the incident is resolved.
PHASE_RESOLVED = "resolved"
# What the requester's latest post must be about for each phase's message.
PHASE_INTENTS = {PHASE_INCIDENT: Intent.AVAILABILITY, PHASE_RESOLVED: Intent.AVAILABILITY}


class AutomationSkipped(DomainError):
    """An automated message this ticket must not get; the message says why (shown where the
    senders list skipped tickets)."""

    code = "automation_skipped"
    status_code = 409


def automated_reply_allowed(
    *, ticket: Ticket, phase: str, latest: Post | None = None
) -> str | None:
    """None when `ticket` may get the automated message of `phase`, else the reason to skip.

    Allowed only when: no automated message of that phase went to the ticket yet (any
    status: one stopped or refused is not retried by automation, a person decides); the
    requester's latest post (`latest`, looked up when not given) is labelled as the report the
    phase is about (`PHASE_INTENTS`), by a person (a correction) or by triage with at least
    the policy's [triage] act_above and [automation] min_confidence (`tickets.gate`); and it
    is not answered (`ticket_answer_get`), except, for the all-clear, by the ticket's own
    earlier automated message (a deliberate second answer to the same post). Read-only: call
    it under the ticket's lock."""
    if phase not in PHASE_INTENTS:
        raise ValueError(f"unknown automation phase {phase!r}")
    earlier = Reply.objects.filter(ticket=ticket, automation_phase=phase).first()
    if earlier is not None:
        return f"the {phase} message already went to this ticket (reply {earlier.pk})."
    latest = latest if latest is not None else ticket_selectors.ticket_latest_inbound(ticket=ticket)
    if latest is None:
        return "the requester has no post to answer."
    wanted = PHASE_INTENTS[phase]
    triage = TriageResult.objects.filter(post=latest).first()
    if triage is None:
        return "the requester's latest post is not triaged yet."
    if triage.corrected_intent:
        if triage.corrected_intent != wanted:
            label = _label(triage.corrected_intent)
            return f"the requester's latest post is {label}, not a report."
    else:
        if triage.intent != wanted:
            return (
                f"the requester's latest post is {_label(triage.intent)} "
                f"({triage.intent_confidence:.0%}), not a report."
            )
        # A suggestion never sends; [automation] min_confidence may ask more still.
        policy = policy_current()
        threshold = max(policy.triage.act_above, policy.automation.min_confidence)
        if not triage_result_acts(result=triage, act_above=threshold):
            return (
                f"triage is only {triage.intent_confidence:.0%} sure the requester's latest "
                f"post is {_label(wanted)} (the policy asks {threshold:.0%}): a suggestion, "
                "a person decides."
            )
    answer = reply_selectors.ticket_answer_get(ticket=ticket, latest=latest)
    if answer is None:
        return None
    ours = answer.reply
    # Only our own automated post: one from a person or another client is a conversation.
    if (
        phase == PHASE_RESOLVED
        and ours is not None
        and ours.is_automated
        and (answer.post is None or answer.post.pk == ours.post_id)
    ):
        return None
    return "the requester's latest post is already answered: " + " ".join(answer.describe())


def _label(intent: str) -> str:
    return str(Intent(intent).label).lower() if intent in Intent.values else intent
