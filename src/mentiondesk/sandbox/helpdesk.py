"""A local Zendesk-compatible server for tests and demos: the Search API over Driftwood's
support tickets, with Zendesk's authentication, query syntax, sorting, response shape and
rate-limit answer, plus the fault injection of sandbox.base.ContractServer.

    server = ZendeskServer().start()
    settings.ZENDESK_URL = server.url
    settings.ZENDESK_EMAIL, settings.ZENDESK_TOKEN = server.email, server.api_token

What it follows (https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/,
https://developer.zendesk.com/api-reference/introduction/security-and-auth/):
- `GET /api/v2/search.json?query=…&sort_by=…&sort_order=…[&per_page=&page=]`;
- basic auth as `{email}/token:{api_token}`; anything else → 401
  `{"error": "Couldn't authenticate you"}`;
- `query`: `type:ticket`, `status:solved` (also `status<solved`, `status>open`…) and words,
  every word required (a word prefix matches) in the subject, description or tags;
  `"quoted phrases"` match as written; an empty query → 400;
- `sort_by` updated_at | created_at | priority | status | ticket_type, `sort_order` asc |
  desc (default relevance, here newest first); anything else → 400 `InvalidSearchParameter`;
- the body: `results[]` (tickets with `result_type: "ticket"`), `facets`, `next_page`,
  `previous_page`, `count`;
- rate limited: HTTP 429 with `Retry-After` (seconds).
"""

from __future__ import annotations

import base64
import re
import shlex
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from mentiondesk.sandbox.base import ContractServer, html_page, json_response

JSON = dict[str, Any]
DEFAULT_EMAIL = "advocates@driftwood.dev"
DEFAULT_API_TOKEN = "zd-mentiondesk-test-0000000000000000"  # noqa: S105 (a fake)
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
SORT_BY = ("updated_at", "created_at", "priority", "status", "ticket_type")


@dataclass
class CannedTicket:
    id: int
    subject: str
    description: str
    status: str = "solved"
    tags: list[str] = field(default_factory=list)
    updated_days_ago: float = 5.0
    created_days_ago: float = 9.0
    priority: str = "normal"
    type: str = "question"


def driftwood_tickets() -> list[CannedTicket]:
    return [
        CannedTicket(
            35501,
            "Runner registration fails with 401 after rotating the runner token",
            "Our runners stopped picking up jobs after we rotated the token: 401 on every job "
            "request. Solved by re-registering with the new authentication token.",
            tags=["runner", "auth", "tokens"],
            updated_days_ago=2,
            created_days_ago=4,
            type="problem",
        ),
        CannedTicket(
            35436,
            "git push over HTTPS returns 403 with personal access token",
            "403 on push with a personal access token. The token lacked the write_repository "
            "scope; a new token fixed it.",
            tags=["git", "auth", "tokens"],
            updated_days_ago=6,
            created_days_ago=7,
        ),
        CannedTicket(
            35512,
            "Transfer project to another group and keep container registry images",
            "Customer wants to move a project with registry images. Shared the registry "
            "migration script; transfer worked afterwards.",
            tags=["registry", "transfer"],
            updated_days_ago=20,
            created_days_ago=24,
        ),
        CannedTicket(
            35610,
            "Sidekiq fails to start after upgrade to 17.5 (self-managed)",
            "Sidekiq crashed at boot after the upgrade; Redis was too old. Upgrading Redis "
            "solved it.",
            tags=["self-managed", "upgrade", "sidekiq"],
            updated_days_ago=3,
            created_days_ago=5,
            type="incident",
        ),
        CannedTicket(
            35731,
            "Is SAML SSO available on hosted Premium?",
            "Yes: SAML SSO for groups is part of Premium on driftwood.dev.",
            tags=["saml", "sso", "plans"],
            updated_days_ago=11,
            created_days_ago=12,
        ),
        CannedTicket(
            35720,
            "CI minutes page shows zero usage for our group",
            "Usage quotas page shows 0 minutes since yesterday.",
            status="open",
            tags=["ci", "billing"],
            updated_days_ago=0.2,
            created_days_ago=1,
            type="problem",
        ),
        CannedTicket(
            35800,
            "Pipelines pending on shared runners",
            "Jobs stay pending on the shared runners for 40 minutes.",
            status="pending",
            tags=["ci", "runner"],
            updated_days_ago=0.1,
            created_days_ago=0.2,
            priority="high",
            type="incident",
        ),
        CannedTicket(
            34990,
            "Runner token rotation: old runners keep failing with 401",
            "Old runner managers cache the token; restarting the runner service after "
            "rotation fixed the 401s.",
            status="closed",
            tags=["runner", "tokens"],
            updated_days_ago=45,
            created_days_ago=50,
        ),
    ]


class ZendeskServer(ContractServer):
    """Driftwood's support helpdesk (Zendesk): the Search API over the canned tickets."""

    name = "zendesk"

    def __init__(
        self,
        *,
        email: str = DEFAULT_EMAIL,
        api_token: str = DEFAULT_API_TOKEN,
        tickets: list[CannedTicket] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.email = email
        self.api_token = api_token
        self.tickets = driftwood_tickets() if tickets is None else tickets

    def _agent_page(self, ticket_id: str) -> Response:
        """A ticket in the agent interface, where the desk's helpdesk links lead (the
        stand-in's agent is signed in)."""
        ticket = next((t for t in self.tickets if str(t.id) == ticket_id), None)
        if ticket is None:
            return html_page(404, "Ticket not found")
        return html_page(
            200,
            f"{ticket.subject} - Ticket #{ticket.id} - Driftwood Support",
            f"<p>{escape(ticket.status)} · {escape(', '.join(ticket.tags))}</p>"
            f"<p>{escape(ticket.description)}</p>",
            description=ticket.description,
        )

    # The API

    def handle(self, request: Request) -> Response:
        if request.method == "GET" and request.path.startswith("/agent/tickets/"):
            return self._agent_page(request.path.removeprefix("/agent/tickets/").strip("/"))
        if not self._authenticated(request):
            return json_response(401, {"error": "Couldn't authenticate you"})
        if request.path != "/api/v2/search.json":
            return json_response(404, {"error": "InvalidEndpoint", "description": "Not found"})
        if request.method != "GET":
            return json_response(405, {"error": "MethodNotAllowed"})
        args = request.args
        query = args.get("query", "")
        sort_by = args.get("sort_by")
        sort_order = args.get("sort_order", "desc")
        if (sort_by is not None and sort_by not in SORT_BY) or sort_order not in ("asc", "desc"):
            return json_response(
                400,
                {
                    "error": "InvalidSearchParameter",
                    "description": "sort_by or sort_order is not valid",
                },
            )
        try:
            filters, words = _parse(query)
        except ValueError as exc:
            return json_response(
                400, {"error": "unavailable", "description": f"Invalid search: {exc}"}
            )
        try:
            per_page = min(100, max(1, int(args.get("per_page", "100"))))
            page = max(1, int(args.get("page", "1")))
        except ValueError:
            return json_response(400, {"error": "InvalidPaginationParameter"})
        found = [t for t in self.tickets if _matches(t, filters, words)]
        key = sort_by or "updated_at"
        if key in ("updated_at", "created_at"):
            found.sort(key=lambda t: getattr(t, key.replace("_at", "_days_ago")))
            if sort_order == "asc":
                found.reverse()
        else:
            attr = "type" if key == "ticket_type" else key
            found.sort(key=lambda t: str(getattr(t, attr)), reverse=sort_order == "desc")
        chunk = found[(page - 1) * per_page : page * per_page]
        more = page * per_page < len(found)
        base = f"{self.url}/api/v2/search.json"
        query_args = {k: v for k, v in args.items() if k != "page"}
        return json_response(
            200,
            {
                "results": [self._ticket_json(t) for t in chunk],
                "facets": None,
                "next_page": f"{base}?{urlencode({**query_args, 'page': page + 1})}"
                if more
                else None,
                "previous_page": f"{base}?{urlencode({**query_args, 'page': page - 1})}"
                if page > 1
                else None,
                "count": len(found),
            },
        )

    def ratelimited_response(self, retry_after: str) -> Response:
        return json_response(
            429,
            {
                "error": "APIRateLimitExceeded",
                "description": "Number of allowed API requests per minute exceeded",
            },
            {"Retry-After": retry_after},
        )

    def _authenticated(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header.removeprefix("Basic ")).decode()
        except ValueError:
            return False
        return decoded == f"{self.email}/token:{self.api_token}"

    def _ticket_json(self, ticket: CannedTicket) -> JSON:
        created = _zendesk_time(self.ago(days=ticket.created_days_ago))
        return {
            "url": f"{self.url}/api/v2/tickets/{ticket.id}.json",
            "id": ticket.id,
            "external_id": None,
            "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": created,
            "updated_at": _zendesk_time(self.ago(days=ticket.updated_days_ago)),
            "generated_timestamp": 0,
            "type": ticket.type,
            "subject": ticket.subject,
            "raw_subject": ticket.subject,
            "description": ticket.description,
            "priority": ticket.priority,
            "status": ticket.status,
            "recipient": None,
            "requester_id": 1900000000001,
            "submitter_id": 1900000000001,
            "assignee_id": 1900000000042,
            "organization_id": None,
            "group_id": 360000000007,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "forum_topic_id": None,
            "problem_id": None,
            "has_incidents": False,
            "is_public": True,
            "due_at": None,
            "tags": list(ticket.tags),
            "custom_fields": [],
            "satisfaction_rating": None,
            "sharing_agreement_ids": [],
            "custom_status_id": 360000000100,
            "fields": [],
            "followup_ids": [],
            "ticket_form_id": 360000000001,
            "brand_id": 360000000002,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": False,
            "result_type": "ticket",
        }


_FILTER = re.compile(r"^(type|status)(:|<|>)(\w+)$", re.IGNORECASE)


def _parse(query: str) -> tuple[list[tuple[str, str, str]], list[str]]:
    if not query.strip():
        raise ValueError("the query is empty")
    tokens = shlex.split(query)  # ValueError on unbalanced quotes, as Zendesk refuses them
    filters: list[tuple[str, str, str]] = []
    words: list[str] = []
    for token in tokens:
        match = _FILTER.match(token)
        if match:
            field_name, op, value = match.group(1).lower(), match.group(2), match.group(3).lower()
            if field_name == "status" and value not in STATUSES:
                raise ValueError(f"unknown status {value!r}")
            filters.append((field_name, op, value))
        elif ":" in token:
            continue  # other properties (tags:, requester:…) are not modelled: not applied
        else:
            words.append(token.lower())
    return filters, words


def _matches(ticket: CannedTicket, filters: list[tuple[str, str, str]], words: list[str]) -> bool:
    for field_name, op, value in filters:
        if field_name == "type" and value != "ticket":
            return False
        if field_name == "status":
            rank, wanted = STATUSES.index(ticket.status), STATUSES.index(value)
            if {":": rank != wanted, "<": rank >= wanted, ">": rank <= wanted}[op]:
                return False
    text = " ".join([ticket.subject, ticket.description, *ticket.tags]).lower()
    return all(re.search(rf"(?<!\w){re.escape(w.rstrip('*'))}", text) for w in words)


def _zendesk_time(iso_with_millis: str) -> str:
    """Zendesk writes whole seconds: 2026-11-25T09:12:03Z."""
    return re.sub(r"\.\d+Z$", "Z", iso_with_millis)
