"""Zendesk's Search API, read through httpx: vendor I/O only, no database.

Not zenpy (2.0.57 evaluated): its URL is built as `https://{subdomain}.{domain}/api/v2`, with
the scheme fixed to https, so a desk cannot use a Zendesk behind its own URL, and tests cannot
point it at a local server except through the process-wide ZENPY_FORCE_NETLOC and
ZENPY_FORCE_SCHEME environment variables. It also sleeps for a 429's Retry-After inside the
call and tries again, which would hold up the ticket page. One authenticated GET needs no SDK.

API relied on (https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/):
`GET /api/v2/search.json?query=type:ticket status:solved …&sort_by=updated_at&sort_order=desc`
→ {"results": [{id, subject, status, updated_at, description, tags, result_type…}], "count",
"next_page"}; every word of the query must match. Auth: basic `{email}/token:{api_token}`
(https://developer.zendesk.com/api-reference/introduction/security-and-auth/). Agent-facing
ticket pages are `/agent/tickets/{id}`.
"""

from __future__ import annotations

from typing import Any

from mentiondesk.integrations.vendorhttp import get_json, unexpected

MAX_PER_PAGE = 100
DESCRIPTION_CHARS = 2000


def solved_tickets_search(
    *, base_url: str, email: str, api_token: str, words: str, per_page: int, timeout: float
) -> list[dict[str, Any]]:
    """Solved tickets matching `words`, most recently updated first (the seed's "click on the
    Updated column"): subject, url (the agent's ticket page), status, updated_at, tags,
    description (cut at DESCRIPTION_CHARS). Raises EvidenceError."""
    data = get_json(
        f"{base_url}/api/v2/search.json",
        params={
            "query": f"type:ticket status:solved {words}",
            "sort_by": "updated_at",
            "sort_order": "desc",
            "per_page": min(MAX_PER_PAGE, max(1, per_page)),
        },
        auth=(f"{email}/token", api_token),
        auth_hint="check MENTIONDESK_ZENDESK_EMAIL and MENTIONDESK_ZENDESK_TOKEN",
        timeout=timeout,
    )
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise unexpected("no results list")
    items = []
    for ticket in data["results"]:
        if not isinstance(ticket, dict) or ticket.get("result_type", "ticket") != "ticket":
            continue
        ticket_id, subject = ticket.get("id"), ticket.get("subject")
        if not isinstance(ticket_id, int) or not isinstance(subject, str):
            continue
        tags = ticket.get("tags")
        items.append(
            {
                "subject": subject,
                "url": f"{base_url}/agent/tickets/{ticket_id}",
                "status": str(ticket.get("status") or ""),
                "updated_at": str(ticket.get("updated_at") or ""),
                "tags": [str(t) for t in tags] if isinstance(tags, list) else [],
                "description": str(ticket.get("description") or "")[:DESCRIPTION_CHARS],
            }
        )
    return items
