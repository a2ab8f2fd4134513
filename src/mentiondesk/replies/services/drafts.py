"""Drafted replies from the policy's macros, filled with what the desk knows about a ticket."""

from __future__ import annotations

import string
from dataclasses import dataclass

from mentiondesk.channels.connectors import network_facts
from mentiondesk.channels.selectors import handle_text_limit
from mentiondesk.policy.selectors import policy_current
from mentiondesk.tickets.models import Ticket

from .text import X_MAX_CHARS


@dataclass(frozen=True)
class Draft:
    macro: str
    text: str
    length: int  # as the ticket's network counts it
    limit: int = X_MAX_CHARS  # the network's limit
    network_label: str = "X"

    @property
    def fits(self) -> bool:
        """False when the draft would exceed the network's limit: flagged before sending."""
        return self.length <= self.limit


def ticket_drafts(*, ticket: Ticket, variables: dict[str, str] | None = None) -> list[Draft]:
    """The macros that apply to `ticket` (its intent, or none given) and whose variables are
    all known, filled in. `variables` adds what the evidence found (incident_url, issue_url,
    new_issue_url, forum_url, forum_category_url); `requester` is always known."""
    known = {"requester": ticket.requester_username, **(variables or {})}
    facts = network_facts(ticket.network)
    limit = handle_text_limit(handle=ticket.handle)
    drafts = []
    for macro in policy_current().macros:
        if macro.intents and ticket.intent not in macro.intents:
            continue
        needed = {name for _, name, _, _ in string.Formatter().parse(macro.text) if name}
        if not needed <= {k for k, v in known.items() if v}:
            continue
        text = macro.text.format(**known)
        drafts.append(Draft(macro.name, text, facts.text_length(text), limit, facts.label))
    return drafts
