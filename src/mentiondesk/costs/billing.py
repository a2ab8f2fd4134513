"""What X bills for one request, from what the connector reported. Pure: no database.

The rule (https://docs.x.com/x-api/getting-started/pricing): reads are billed per resource
returned, so every resource in a success answer counts (`data` and the expansions in
`includes`: posts as post reads, users as user reads), and a failed read (429, 5xx, a timeout)
returns none and costs nothing, though it still counts as a request. X bills a resource once
per UTC day however often it is read: `Usage.resource_ids` lets the meter apply that.

Writes are billed per request: one unit when X accepted it (2xx), and also when the outcome is
unknown (no answer, 5xx), because the post may exist; a refusal (4xx, including 429 and 403
duplicate content) created nothing and costs nothing. Calls refused locally (a spent rate
window) or that never left (unreachable) are not requests at all and are never reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mentiondesk.channels.choices import UsageKind
from mentiondesk.channels.connectors.base import CallReport
from mentiondesk.channels.length import x_has_link

POST_READS = {"GET /2/users/:id/mentions", "GET /2/users/:id/tweets", "GET /2/tweets"}
USER_READS = {"GET /2/users/me", "GET /2/users/by/username/:username"}
WRITES = {
    "DELETE /2/tweets/:id": UsageKind.POST_DELETE,
    "POST /2/users/:id/likes": UsageKind.LIKE,
    "POST /2/dm_conversations/with/:participant_id/messages": UsageKind.DM_CREATE,
}
POST_CREATE = "POST /2/tweets"


@dataclass(frozen=True)
class Usage:
    """Billed use from one request: `requests` is 1 on the request's main kind, 0 on the
    kinds its expansions add. For reads, `resource_ids` are the ids returned (possibly
    repeated: a parent can be both in `data` and in `includes`) and `units` is 0: the meter
    bills each id once per day."""

    kind: str
    endpoint: str
    requests: int
    failed: int
    units: int
    resource_ids: tuple[str, ...] = ()
    rate_limited: int = 0  # of `failed`, those X answered with 429


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, dict) and value else []


def _ids(items: list[Any]) -> tuple[str, ...]:
    return tuple(
        str(i["id"]) for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)
    )


def call_usage(report: CallReport) -> list[Usage]:
    """The billed use of one reported request, following the module's rule. An endpoint this
    module does not know is still counted as a request, under the kind its method suggests."""
    endpoint, status = report.endpoint, report.status
    ok = status is not None and 200 <= status < 300
    failed = 0 if ok else 1
    limited = 1 if status == 429 else 0
    body = report.body if ok and isinstance(report.body, dict) else {}
    includes = body.get("includes")
    includes = includes if isinstance(includes, dict) else {}

    if endpoint in POST_READS or endpoint in USER_READS or endpoint.startswith("GET "):
        data = _list(body.get("data"))
        users = _list(includes.get("users"))
        posts = _list(includes.get("tweets")) or _list(includes.get("posts"))
        if endpoint in USER_READS:
            ids = _ids(data) + _ids(users)
            return [Usage(UsageKind.USER_READ, endpoint, 1, failed, 0, ids, limited)]
        ids = _ids(data) + _ids(posts)
        usage = [Usage(UsageKind.POST_READ, endpoint, 1, failed, 0, ids, limited)]
        if users:
            usage.append(Usage(UsageKind.USER_READ, endpoint, 0, 0, 0, _ids(users)))
        return usage

    billed = ok or status is None or status >= 500
    if endpoint == POST_CREATE:
        text = (report.sent or {}).get("text", "")
        kind = post_create_kind(text if isinstance(text, str) else "")
    else:
        kind = WRITES.get(endpoint, UsageKind.POST_CREATE)
    return [Usage(kind, endpoint, 1, failed, 1 if billed else 0, rate_limited=limited)]


def post_create_kind(text: str) -> str:
    """The kind X bills a new post with `text` as: a link makes it "with URL"."""
    return UsageKind.POST_CREATE_WITH_URL if x_has_link(text) else UsageKind.POST_CREATE
