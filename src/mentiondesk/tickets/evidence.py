"""The answer's evidence for a ticket, gathered in one place: what the evidence sources say
about the requester's words, similar solved tickets from the desk's own history, and the
drafts the policy's macros make from them. Calls the network (cached, time-boxed): never
call it inside a transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mentiondesk.channels.models import Post
from mentiondesk.integrations.evidence import services as evidence
from mentiondesk.replies.services import Draft, ticket_drafts

from .models import Ticket
from .search import SearchHit, ticket_similar


@dataclass(frozen=True)
class TicketEvidence:
    sources: dict[str, evidence.EvidenceResult]
    similar: list[SearchHit]
    drafts: list[Draft]
    variables: dict[str, str]

    @property
    def configured(self) -> list[evidence.EvidenceResult]:
        """The sources that have their settings, in the order they were asked."""
        return [r for r in self.sources.values() if r.configured]

    @property
    def unconfigured(self) -> list[str]:
        """The names of the sources whose settings are missing."""
        return [name for name, r in self.sources.items() if not r.configured]


def ticket_evidence_get(*, ticket: Ticket) -> TicketEvidence:
    """Evidence and drafted replies for `ticket`. Sources that are not configured or failed
    say so in their result; nothing here raises for a source's sake."""
    first = ticket.posts.filter(direction=Post.Direction.INBOUND).order_by("created_at").first()
    sources = evidence.evidence_for_text(first.text if first else ticket.subject)
    variables = {
        "incident_url": _first(sources, "statuspage", "url"),
        "issue_url": _first(sources, "issuetracker", "url"),
        "forum_url": _first(sources, "forum", "url"),
        "new_issue_url": evidence.issues_new_url() or "",
        "forum_category_url": evidence.forum_category_url() or "",
    }
    known = {k: v for k, v in variables.items() if v}
    return TicketEvidence(
        sources=sources,
        similar=ticket_similar(ticket=ticket),
        drafts=ticket_drafts(ticket=ticket, variables=known),
        variables=known,
    )


def _first(sources: dict[str, Any], source: str, key: str) -> str:
    result = sources.get(source)
    return str(result.items[0].get(key) or "") if result and result.items else ""
