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
    # The variables the desk could not fill: left in `text` as "{name}" for the agent to edit.
    missing: tuple[str, ...] = ()
    # The macro is meant for the ticket's intent (or for any intent).
    applies: bool = True

    @property
    def fits(self) -> bool:
        """False when the draft would exceed the network's limit: flagged before sending."""
        return self.length <= self.limit


class _Known(dict[str, str]):
    """The variables known for a ticket; an unknown one formats as its own "{name}"."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def ticket_macros(*, ticket: Ticket, variables: dict[str, str] | None = None) -> list[Draft]:
    """Every macro of the policy, in its order, filled for `ticket` with what the desk knows:
    `requester` always, and `variables` (what the evidence found: incident_url, issue_url,
    new_issue_url, forum_url, forum_category_url). A variable without a value stays in the
    text as "{name}" and is listed in `missing`; `applies` says whether the macro is meant for
    the ticket's intent. The composer's macro picker lists them all. Read-only."""
    known = _Known(
        {
            k: v
            for k, v in {"requester": ticket.requester_username, **(variables or {})}.items()
            if v
        }
    )
    facts = network_facts(ticket.network)
    limit = handle_text_limit(handle=ticket.handle)
    macros = []
    for macro in policy_current().macros:
        needed = [name for _, name, _, _ in string.Formatter().parse(macro.text) if name]
        # The policy allows plain {name} fields only (policy.schema.checks._template_check).
        text = macro.text.format_map(known)
        macros.append(
            Draft(
                macro.name,
                text,
                facts.text_length(text),
                limit,
                facts.label,
                missing=tuple(dict.fromkeys(n for n in needed if n not in known)),
                applies=not macro.intents or ticket.intent in macro.intents,
            )
        )
    return macros


def ticket_drafts(*, ticket: Ticket, variables: dict[str, str] | None = None) -> list[Draft]:
    """The macros that apply to `ticket` (its intent, or none given) and whose variables are
    all known, filled in (`ticket_macros`). `variables` adds what the evidence found
    (incident_url, issue_url, new_issue_url, forum_url, forum_category_url); `requester` is
    always known."""
    return [
        draft
        for draft in ticket_macros(ticket=ticket, variables=variables)
        if draft.applies and not draft.missing
    ]
