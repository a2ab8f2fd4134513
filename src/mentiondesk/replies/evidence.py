"""The answer's evidence for a ticket, gathered in one place: what the evidence sources say
about the requester's words, similar solved tickets from the desk's own history, and the
drafts the policy's macros make from them. Calls the network (cached, time-boxed): never
call it inside a transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from mentiondesk.channels.models import Post
from mentiondesk.integrations.evidence import services as evidence
from mentiondesk.replies.services import Draft, ticket_drafts, ticket_macros
from mentiondesk.tickets.models import Ticket
from mentiondesk.tickets.search import SearchHit, ticket_similar


@dataclass(frozen=True)
class TicketEvidence:
    sources: dict[str, evidence.EvidenceResult]
    similar: list[SearchHit]
    drafts: list[Draft]
    variables: dict[str, str]
    # When the sources answered: now, or when the kept evidence was fetched.
    fetched_at: datetime | None = None

    @property
    def configured(self) -> list[evidence.EvidenceResult]:
        """The sources that have their settings, in the order they were asked."""
        return [r for r in self.sources.values() if r.configured]

    @property
    def unconfigured(self) -> list[str]:
        """The names of the sources whose settings are missing."""
        return [name for name, r in self.sources.items() if not r.configured]


def ticket_evidence_get(*, ticket: Ticket) -> TicketEvidence:
    """Evidence and drafted replies for `ticket`, asked of the sources now (their caches
    apply) and kept for the ticket page (`ticket_evidence_stored`). Sources that are not
    configured or failed say so in their result; nothing here raises for a source's sake."""
    return _ticket_evidence(ticket, _ticket_sources_fetch(ticket), timezone.now())


def ticket_evidence_stored(*, ticket: Ticket) -> TicketEvidence | None:
    """The evidence kept for `ticket` (fetched after ingest, or when the card was last
    refreshed), with similar tickets and drafts worked out now; None when it was never
    fetched. No network: the ticket page draws it at once."""
    stored = evidence.evidence_stored(ticket_id=ticket.pk)
    if stored is None:
        return None
    sources, fetched_at = stored
    return _ticket_evidence(ticket, sources, fetched_at)


def ticket_macros_get(*, ticket: Ticket) -> list[Draft]:
    """Every macro of the policy filled for `ticket` (`ticket_macros`) with what the kept
    evidence knows (the incident, issue and forum links) besides the requester; what it does
    not know stays a "{name}" placeholder. No network: the composer's picker opens at once,
    and the evidence card's Refresh is what asks the sources again."""
    stored = evidence.evidence_stored(ticket_id=ticket.pk)
    return ticket_macros(ticket=ticket, variables=_variables(stored[0] if stored else {}))


def ticket_evidence_warm(*, ticket_id: int) -> bool:
    """After ingest: fetch and keep the sources' evidence of ticket `ticket_id` before anyone
    opens it; False when the ticket is gone. Similar tickets and drafts are left to the ticket
    page, which works them out anyway (they change as the desk does). Calls the network: never
    inside a transaction."""
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return False
    _ticket_sources_fetch(ticket)
    return True


def _ticket_sources_fetch(ticket: Ticket) -> dict[str, evidence.EvidenceResult]:
    """Ask the sources about the requester's first words, and keep their answers."""
    first = ticket.posts.filter(direction=Post.Direction.INBOUND).order_by("created_at").first()
    sources = evidence.evidence_for_text(first.text if first else ticket.subject)
    evidence.evidence_store(ticket_id=ticket.pk, sources=sources)
    return sources


def _ticket_evidence(
    ticket: Ticket, sources: dict[str, evidence.EvidenceResult], fetched_at: datetime | None
) -> TicketEvidence:
    known = _variables(sources)
    return TicketEvidence(
        sources=sources,
        similar=ticket_similar(ticket=ticket),
        drafts=ticket_drafts(ticket=ticket, variables=known),
        variables=known,
        fetched_at=fetched_at,
    )


def _variables(sources: dict[str, evidence.EvidenceResult]) -> dict[str, str]:
    """The macro variables the sources' answers and the settings give, those with a value."""
    variables = {
        "incident_url": _first(sources, "statuspage", "url"),
        "issue_url": _first(sources, "issuetracker", "url"),
        "forum_url": _first(sources, "forum", "url"),
        "new_issue_url": evidence.issues_new_url() or "",
        "forum_category_url": evidence.forum_category_url() or "",
    }
    return {k: v for k, v in variables.items() if v}


def _first(sources: dict[str, Any], source: str, key: str) -> str:
    result = sources.get(source)
    return str(result.items[0].get(key) or "") if result and result.items else ""
