"""Evidence for the ticket panel: what the status page, the issue tracker, the forum and the
support helpdesk say about a post — the seed's manual look-ups ("check the status page",
"search for a related issue", "find a related question in the forum", "search Zendesk …
add status:solved"), done for the advocate and cached.

Contract of every look-up here:
- Never raises. A source that is slow, down, answering 5xx, malformed JSON or 429 comes back
  as `EvidenceResult(items=[], error="statuspage: timed out after 3 s")`; a source without its
  URL setting comes back with `configured=False` and asks nobody.
- Cached in EvidenceCache per source and query (the source's URL, the operation, the
  keywords), for `<SOURCE>_CACHE_SECONDS`; a second look-up within that time makes no request.
- After a failure the whole source pauses: until Retry-After for a 429 (no request before
  it), or EVIDENCE_ERROR_CACHE_SECONDS for anything else, so an outage costs one timeout, not
  one per ticket. While paused, look-ups answer the failure with the time of the next try.
- Bounded in time: every request has the source's timeout, and all the requests of one
  `evidence_for_text` share EVIDENCE_BUDGET_SECONDS; sources not reached in time answer
  "skipped" (not cached).
- Waits on the network: call it outside any transaction (a worker, or a request rendering the
  panel), never while holding a row lock or SQLite's write lock.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from mentiondesk.core.keywords import keyword_overlap, keyword_queries, keywords_extract
from mentiondesk.integrations.forum import client as forum_client
from mentiondesk.integrations.helpdesk import client as helpdesk_client
from mentiondesk.integrations.issuetracker import client as issuetracker_client
from mentiondesk.integrations.statuspage import client as statuspage_client
from mentiondesk.integrations.vendorhttp import BudgetSpent, Deadline, EvidenceError

from .models import EvidenceCache, TicketEvidence

logger = logging.getLogger(__name__)

STATUSPAGE = EvidenceCache.Source.STATUSPAGE.value
ISSUETRACKER = EvidenceCache.Source.ISSUETRACKER.value
FORUM = EvidenceCache.Source.FORUM.value
HELPDESK = EvidenceCache.Source.HELPDESK.value
SOURCES = (STATUSPAGE, ISSUETRACKER, FORUM, HELPDESK)
# At most this many requests per look-up (the widening queries, times GitLab's projects).
MAX_REQUESTS = 8
EXCERPT_CHARS = 200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class EvidenceResult:
    """What one source says. `items` are dicts whose keys depend on the source (see each
    look-up); `error` is a sentence for the panel, "" when the look-up worked; `configured`
    is False when the source's URL is not set; `fetched_at` is when the source answered (or
    failed); `cached` says the items come from EvidenceCache."""

    source: str
    items: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    configured: bool = True
    fetched_at: datetime | None = None
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.configured and not self.error


@dataclass(frozen=True)
class _Fetched:
    items: list[dict[str, Any]]
    # False when the time budget cut the look-up short: shown, but not cached.
    complete: bool = True


# The panel


def evidence_configured() -> dict[str, bool]:
    """Which sources have their settings: the panel hides the others."""
    return {
        STATUSPAGE: bool(settings.STATUSPAGE_URL),
        ISSUETRACKER: bool(settings.GITLAB_URL and settings.GITLAB_PROJECTS),
        FORUM: bool(settings.DISCOURSE_URL),
        HELPDESK: bool(settings.ZENDESK_URL),
    }


def evidence_for_text(text: str) -> dict[str, EvidenceResult]:
    """Every source's evidence for a post's `text`, keyed by source ("statuspage",
    "issuetracker", "forum", "helpdesk"), asked one after the other within
    EVIDENCE_BUDGET_SECONDS. Never raises; see the module docstring."""
    deadline = Deadline.after(settings.EVIDENCE_BUDGET_SECONDS)
    return {
        STATUSPAGE: statuspage_open_incidents(deadline=deadline),
        ISSUETRACKER: issues_related(text, deadline=deadline),
        FORUM: forum_topics_related(text, deadline=deadline),
        HELPDESK: helpdesk_solved_tickets(text, deadline=deadline),
    }


def evidence_store(*, ticket_id: int, sources: dict[str, EvidenceResult]) -> None:
    """Keep `sources` (what `evidence_for_text` answered) as the ticket's evidence, replacing
    what was kept before; failures are kept with their error. One upsert."""
    now = timezone.now()
    TicketEvidence.objects.bulk_create(
        [
            TicketEvidence(
                ticket_id=ticket_id,
                sources={name: _result_json(result) for name, result in sources.items()},
                fetched_at=now,
            )
        ],
        update_conflicts=True,
        unique_fields=["ticket"],
        update_fields=["sources", "fetched_at"],
    )


def evidence_stored(*, ticket_id: int) -> tuple[dict[str, EvidenceResult], datetime] | None:
    """The evidence kept for the ticket and when it was fetched, or None (never fetched).
    No network."""
    row = TicketEvidence.objects.filter(ticket_id=ticket_id).first()
    if row is None:
        return None
    sources = {
        name: EvidenceResult(
            source=name,
            items=list(data.get("items") or []),
            error=str(data.get("error") or ""),
            configured=bool(data.get("configured", True)),
            fetched_at=_parsed(data.get("fetched_at")),
            cached=True,
        )
        for name, data in row.sources.items()
        if isinstance(data, dict)
    }
    return sources, row.fetched_at


def _result_json(result: EvidenceResult) -> dict[str, Any]:
    return {
        "items": result.items,
        "error": result.error,
        "configured": result.configured,
        "fetched_at": result.fetched_at.isoformat() if result.fetched_at else None,
    }


def _parsed(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


# Status page


def statuspage_open_incidents(*, deadline: Deadline | None = None) -> EvidenceResult:
    """The status page's unresolved incidents, worst impact first, then the latest update:
    items {title, url (shortlink, else the incident's page), status, impact, updated_at,
    latest_update, components}. No items and no error: nothing open. Never raises."""
    base = settings.STATUSPAGE_URL
    if not base:
        return EvidenceResult(source=STATUSPAGE, configured=False)
    budget = deadline or _deadline()

    def fetch() -> _Fetched:
        timeout = budget.timeout(settings.STATUSPAGE_TIMEOUT_SECONDS)
        items = statuspage_client.incidents_unresolved(base_url=base, timeout=timeout)
        items.sort(
            key=lambda i: (statuspage_client.IMPACT_RANK.get(i["impact"], 0), _when(i)),
            reverse=True,
        )
        return _Fetched(items)

    return _lookup(
        deadline=budget,
        source=STATUSPAGE,
        key_parts=[base, "incidents/unresolved"],
        query="unresolved incidents",
        ttl=settings.STATUSPAGE_CACHE_SECONDS,
        fetch=fetch,
    )


def statuspage_summary(*, deadline: Deadline | None = None) -> EvidenceResult:
    """The status page's overall status, as one item {indicator, description, url,
    updated_at, components: the ones not operational, [{name, status}]}. Never raises."""
    base = settings.STATUSPAGE_URL
    if not base:
        return EvidenceResult(source=STATUSPAGE, configured=False)
    budget = deadline or _deadline()

    def fetch() -> _Fetched:
        timeout = budget.timeout(settings.STATUSPAGE_TIMEOUT_SECONDS)
        return _Fetched([statuspage_client.summary(base_url=base, timeout=timeout)])

    return _lookup(
        deadline=budget,
        source=STATUSPAGE,
        key_parts=[base, "summary"],
        query="summary",
        ttl=settings.STATUSPAGE_CACHE_SECONDS,
        fetch=fetch,
    )


# Issue tracker


def issues_related(
    text: str, *, limit: int = 5, deadline: Deadline | None = None
) -> EvidenceResult:
    """Issues in the configured GitLab projects that look like `text`, best first: items
    {title, url, state, labels, updated_at, score, reference, excerpt}.

    Searched with the post's keywords, narrow to wide (core.keywords), open and closed;
    ranked by `score` = keyword overlap with title and description (0-1) + 0.2 when open +
    up to 0.1 for a recent update (none after a year). Never raises."""
    base, projects = settings.GITLAB_URL, list(settings.GITLAB_PROJECTS)
    if not base or not projects:
        return EvidenceResult(source=ISSUETRACKER, configured=False)
    keywords = keywords_extract(text)
    queries = keyword_queries(keywords)
    if not queries:
        return EvidenceResult(source=ISSUETRACKER)
    budget = deadline or _deadline()
    now = timezone.now()

    def search(query: str, project: str, timeout: float) -> list[dict[str, Any]]:
        return issuetracker_client.issues_search(
            base_url=base,
            token=settings.GITLAB_TOKEN,
            project=project,
            search=query,
            per_page=max(10, 2 * limit),
            timeout=timeout,
        )

    def fetch() -> _Fetched:
        plan = [(query, project) for query in queries for project in projects]
        found, complete = _widening_search(
            plan=plan,
            enough=limit,
            search=search,
            deadline=budget,
            timeout=settings.GITLAB_TIMEOUT_SECONDS,
        )
        for item in found:
            overlap = keyword_overlap(keywords, title=item["title"], body=item["description"])
            age_days = (now - _when(item)).total_seconds() / 86400
            recency = 0.1 * max(0.0, 1 - age_days / 365)
            item["score"] = round(overlap + (0.2 if item["state"] == "opened" else 0) + recency, 3)
            item["excerpt"] = _excerpt(item.pop("description"))
            item.pop("upvotes", None)
            item.pop("project", None)
        found.sort(key=lambda i: i["score"], reverse=True)
        return _Fetched(found[:limit], complete)

    return _lookup(
        deadline=budget,
        source=ISSUETRACKER,
        key_parts=[base, "issues", ",".join(projects), " ".join(keywords), str(limit)],
        query=f"issues: {' '.join(keywords)}",
        ttl=settings.GITLAB_CACHE_SECONDS,
        fetch=fetch,
    )


def issues_new_url() -> str | None:
    """Where to send someone to open a new issue (the seed: "suggesting they create a new
    issue"): the first configured project's new-issue page; None when GitLab is not set."""
    if not settings.GITLAB_URL or not settings.GITLAB_PROJECTS:
        return None
    return issuetracker_client.new_issue_url(
        base_url=settings.GITLAB_URL, project=settings.GITLAB_PROJECTS[0]
    )


# Forum


def forum_topics_related(
    text: str, *, limit: int = 5, deadline: Deadline | None = None
) -> EvidenceResult:
    """Forum topics that look like `text`, best first: items {title, url, has_accepted_answer,
    replies, category_id, excerpt, last_posted_at}. Ranked by keyword overlap with title and
    excerpt, + 0.25 for an accepted answer (someone "worked through something similar
    before"), then Discourse's own order. Never raises."""
    base = settings.DISCOURSE_URL
    if not base:
        return EvidenceResult(source=FORUM, configured=False)
    keywords = keywords_extract(text)
    queries = keyword_queries(keywords)
    if not queries:
        return EvidenceResult(source=FORUM)
    budget = deadline or _deadline()

    def search(query: str, _: str, timeout: float) -> list[dict[str, Any]]:
        return forum_client.topics_search(base_url=base, query=query, timeout=timeout)

    def fetch() -> _Fetched:
        found, complete = _widening_search(
            plan=[(query, "") for query in queries],
            enough=limit,
            search=search,
            deadline=budget,
            timeout=settings.DISCOURSE_TIMEOUT_SECONDS,
        )
        for item in found:
            item["excerpt"] = _excerpt(item["excerpt"])
        found.sort(
            key=lambda i: (
                keyword_overlap(keywords, title=i["title"], body=i["excerpt"])
                + (0.25 if i["has_accepted_answer"] else 0)
            ),
            reverse=True,
        )
        return _Fetched(found[:limit], complete)

    return _lookup(
        deadline=budget,
        source=FORUM,
        key_parts=[base, "search", " ".join(keywords), str(limit)],
        query=f"topics: {' '.join(keywords)}",
        ttl=settings.DISCOURSE_CACHE_SECONDS,
        fetch=fetch,
    )


def forum_category_url() -> str | None:
    """The forum link for "no similar post exists: share the most appropriate forum
    category": DISCOURSE_CATEGORY_URL when set, else the forum's front page; None when no
    forum is set."""
    if not settings.DISCOURSE_URL:
        return None
    return settings.DISCOURSE_CATEGORY_URL or settings.DISCOURSE_URL


# Support helpdesk


def helpdesk_solved_tickets(
    text: str, *, limit: int = 5, deadline: Deadline | None = None
) -> EvidenceResult:
    """Solved helpdesk tickets that look like `text`: items {subject, url (the agent's ticket
    page), status, updated_at, tags, excerpt}, ranked by keyword overlap with subject and
    description, then the most recently updated. Never raises."""
    base = settings.ZENDESK_URL
    if not base:
        return EvidenceResult(source=HELPDESK, configured=False)
    keywords = keywords_extract(text)
    queries = keyword_queries(keywords)
    if not queries:
        return EvidenceResult(source=HELPDESK)
    budget = deadline or _deadline()

    def search(query: str, _: str, timeout: float) -> list[dict[str, Any]]:
        return helpdesk_client.solved_tickets_search(
            base_url=base,
            email=settings.ZENDESK_EMAIL,
            api_token=settings.ZENDESK_TOKEN,
            words=query,
            per_page=max(10, 2 * limit),
            timeout=timeout,
        )

    def fetch() -> _Fetched:
        found, complete = _widening_search(
            plan=[(query, "") for query in queries],
            enough=limit,
            search=search,
            deadline=budget,
            timeout=settings.ZENDESK_TIMEOUT_SECONDS,
        )
        overlap = {
            item["url"]: keyword_overlap(
                keywords,
                title=item["subject"],
                body=" ".join([item["description"], *item["tags"]]),
            )
            for item in found
        }
        for item in found:
            item["excerpt"] = _excerpt(item.pop("description"))
        found.sort(key=lambda i: (overlap[i["url"]], _when(i)), reverse=True)
        return _Fetched(found[:limit], complete)

    return _lookup(
        deadline=budget,
        source=HELPDESK,
        key_parts=[base, "search solved", " ".join(keywords), str(limit)],
        query=f"solved tickets: {' '.join(keywords)}",
        ttl=settings.ZENDESK_CACHE_SECONDS,
        fetch=fetch,
    )


# The machinery


def _widening_search(
    *,
    plan: list[tuple[str, str]],
    enough: int,
    search: Callable[[str, str, float], list[dict[str, Any]]],
    deadline: Deadline,
    timeout: float,
) -> tuple[list[dict[str, Any]], bool]:
    """Run `plan` ((query, project) pairs, narrow queries first) until `enough` distinct
    results (by url) are in after a query's round, MAX_REQUESTS were made or the deadline
    passed. Returns the results and whether the search ran to its end (False: the deadline
    cut it short). Raises EvidenceError from `search`; BudgetSpent if no request could start."""
    found: dict[str, dict[str, Any]] = {}
    for n, (query, project) in enumerate(plan):  # n: requests made so far
        if n >= MAX_REQUESTS:
            break
        if n and deadline.expired:
            return list(found.values()), False
        for item in search(query, project, deadline.timeout(timeout)):
            found.setdefault(item["url"], item)
        round_done = n + 1 == len(plan) or plan[n + 1][0] != query
        if round_done and len(found) >= enough:
            break
    return list(found.values()), True


def _lookup(
    *,
    deadline: Deadline,
    source: str,
    key_parts: list[str],
    query: str,
    ttl: float,
    fetch: Callable[[], _Fetched],
) -> EvidenceResult:
    """The cache, the source's pause after failures, and the safety net around `fetch`."""
    key = hashlib.sha256(json.dumps(key_parts).encode()).hexdigest()
    now = timezone.now()
    rows = {
        row.key: row
        for row in EvidenceCache.objects.filter(
            source=source, key__in=[key, EvidenceCache.BACKOFF_KEY], expires_at__gt=now
        )
    }
    if key in rows:
        row = rows[key]
        return EvidenceResult(
            source=source,
            items=list(row.payload),
            error=row.error,
            fetched_at=row.fetched_at,
            cached=True,
        )
    if EvidenceCache.BACKOFF_KEY in rows:
        row = rows[EvidenceCache.BACKOFF_KEY]
        return EvidenceResult(source=source, error=row.error, fetched_at=row.fetched_at)

    pause: float
    try:
        fetched = fetch()
    except BudgetSpent as exc:
        return EvidenceResult(source=source, error=f"{source}: {exc}")
    except EvidenceError as exc:
        error = f"{source}: {exc.detail}"
        if exc.is_timeout and deadline.expired:
            # Cut short by the shared budget, not necessarily slow: no reason to pause it.
            error = f"{source}: no answer within the evidence time budget ({deadline.budget:.2g} s)"
            return EvidenceResult(source=source, error=error, fetched_at=timezone.now())
        pause = settings.EVIDENCE_ERROR_CACHE_SECONDS
        if exc.retry_after is not None:
            pause = exc.retry_after
            error += f"; next try after {_clock(timezone.now(), pause)}"
    except Exception as exc:
        # The last safety net: evidence must never break the page or the ticket it is for.
        logger.exception("evidence look-up failed: %s %s", source, query)
        error = f"{source}: unexpected error ({type(exc).__name__})"
        pause = settings.EVIDENCE_ERROR_CACHE_SECONDS
    else:
        done = timezone.now()
        if fetched.complete:
            _store(source=source, key=key, query=query, items=fetched.items, at=done, ttl=ttl)
        return EvidenceResult(source=source, items=fetched.items, fetched_at=done)

    done = timezone.now()
    logger.warning("evidence source paused for %.0f s: %s", pause, error)
    paused = (
        error if "next try after" in error else f"{error}; next try after {_clock(done, pause)}"
    )
    _store(
        source=source,
        key=EvidenceCache.BACKOFF_KEY,
        query=query,
        items=[],
        error=paused,
        at=done,
        ttl=pause,
    )
    return EvidenceResult(source=source, error=error, fetched_at=done)


def _store(
    *,
    source: str,
    key: str,
    query: str,
    items: list[dict[str, Any]],
    at: datetime,
    ttl: float,
    error: str = "",
) -> None:
    """Upsert one cache row and drop the source's expired ones. A database error is logged,
    not raised: the look-up's answer is still good, just not cached."""
    if ttl <= 0:
        return
    row = EvidenceCache(
        source=source,
        key=key,
        query=query[:500],
        payload=items,
        error=error,
        fetched_at=at,
        expires_at=at + timedelta(seconds=ttl),
    )
    try:
        with transaction.atomic():
            EvidenceCache.objects.filter(source=source, expires_at__lte=at).delete()
            EvidenceCache.objects.bulk_create(
                [row],
                update_conflicts=True,
                unique_fields=["source", "key"],
                update_fields=["query", "payload", "error", "fetched_at", "expires_at"],
            )
    except DatabaseError:
        logger.warning("evidence cache write failed for %s", source, exc_info=True)


def _deadline() -> Deadline:
    return Deadline.after(settings.EVIDENCE_BUDGET_SECONDS)


def _when(item: dict[str, Any]) -> datetime:
    """An item's `updated_at` as an aware datetime; the epoch when missing or unreadable."""
    try:
        when = datetime.fromisoformat(str(item.get("updated_at") or ""))
    except ValueError:
        return _EPOCH
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _clock(start: datetime, seconds: float) -> str:
    return f"{start + timedelta(seconds=seconds):%H:%M:%S} UTC"


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1].rstrip() + "…"
