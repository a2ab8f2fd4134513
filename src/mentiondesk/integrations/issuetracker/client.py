"""A GitLab instance's issues through python-gitlab: vendor I/O only, no database.

python-gitlab is GitLab's maintained client and takes any base URL, so the tests point it at a
local contract server. Its own waiting is switched off: by default it sleeps for a 429's
Retry-After and tries again up to ten times inside the call, which would hold up the ticket
page; here a 429 comes back at once as EvidenceError with `retry_after`, and the caller pauses
the source instead. python-gitlab drops response headers from its errors, so a response hook
on the requests session keeps the last Retry-After.

API relied on (https://docs.gitlab.com/api/issues/#list-project-issues): `search` matches
every word against the title or the description; `order_by` has no relevance option (created_at,
updated_at, title, priority, …), so results come newest update first and are ranked by the
caller. Authentication: `PRIVATE-TOKEN`, optional for public projects.
"""

from __future__ import annotations

from typing import Any

import gitlab
import requests
from gitlab.exceptions import GitlabError, GitlabParsingError

from mentiondesk.integrations.vendorhttp import (
    USER_AGENT,
    EvidenceError,
    describe,
    rate_limited,
    timed_out,
    unexpected,
)

MAX_PER_PAGE = 100
DESCRIPTION_CHARS = 2000


def issues_search(
    *, base_url: str, token: str, project: str, search: str, per_page: int, timeout: float
) -> list[dict[str, Any]]:
    """Issues of `project` (a path, "driftwood/driftwood", or an id) matching `search`, open
    and closed, newest update first: title, url, state, labels, updated_at, project,
    reference ("driftwood/driftwood#123"), description (cut at DESCRIPTION_CHARS), upvotes.
    Raises EvidenceError."""
    session = requests.Session()
    last: dict[str, Any] = {}

    def keep_headers(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        last["headers"] = response.headers

    session.hooks["response"].append(keep_headers)
    try:
        with gitlab.Gitlab(
            base_url,
            private_token=token or None,
            timeout=timeout,
            session=session,
            retry_transient_errors=False,
            user_agent=USER_AGENT,
        ) as gl:
            issues = gl.projects.get(project, lazy=True).issues.list(
                search=search,
                order_by="updated_at",
                sort="desc",
                per_page=min(MAX_PER_PAGE, max(1, per_page)),
                get_all=False,
                obey_rate_limit=False,
                max_retries=0,
            )
            raw = [issue.asdict() for issue in issues]
    except requests.Timeout:
        raise timed_out(timeout) from None
    except requests.ConnectionError as exc:
        # urllib3 reports a read timeout in the middle of a body as a ConnectionError.
        if "timed out" in str(exc).lower():
            raise timed_out(timeout) from None
        raise EvidenceError(f"unreachable ({describe(exc)})") from exc
    except requests.RequestException as exc:  # e.g. a malformed MENTIONDESK_GITLAB_URL
        raise EvidenceError(f"unreachable ({describe(exc)})") from exc
    except GitlabParsingError:
        raise EvidenceError("answered malformed JSON") from None
    except GitlabError as exc:
        raise _http_error(exc, project=project, headers=last.get("headers")) from exc
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        # JSON that parsed but is not a list of issues: python-gitlab fails building objects.
        raise unexpected(type(exc).__name__) from exc
    return [item for item in (_issue_item(i, project) for i in raw) if item is not None]


def new_issue_url(*, base_url: str, project: str) -> str:
    """Where a person opens a new issue in `project` (GitLab's web UI, not the API)."""
    return f"{base_url}/{project.strip('/')}/-/issues/new"


def _http_error(exc: GitlabError, *, project: str, headers: Any) -> EvidenceError:
    code = exc.response_code
    if code == 429:
        return rate_limited(headers)
    if code == 401:
        return EvidenceError("refused the token (HTTP 401); check MENTIONDESK_GITLAB_TOKEN")
    if code == 404:
        return EvidenceError(
            f"has no project {project!r} visible to us (HTTP 404); check "
            "MENTIONDESK_GITLAB_PROJECTS, or set MENTIONDESK_GITLAB_TOKEN for a private project"
        )
    message = str(exc.error_message or "")[:200] if code and code < 500 else ""
    return EvidenceError(f"answered HTTP {code}" + (f": {message}" if message else ""))


def _issue_item(issue: Any, project: str) -> dict[str, Any] | None:
    if not isinstance(issue, dict):
        return None
    title, url = issue.get("title"), issue.get("web_url")
    if not isinstance(title, str) or not isinstance(url, str):
        return None
    references = issue.get("references")
    reference = references.get("full") if isinstance(references, dict) else None
    labels = issue.get("labels")
    return {
        "title": title,
        "url": url,
        "state": str(issue.get("state") or ""),
        "labels": [str(label) for label in labels] if isinstance(labels, list) else [],
        "updated_at": str(issue.get("updated_at") or ""),
        "project": project,
        "reference": str(reference or f"{project}#{issue.get('iid')}"),
        "description": str(issue.get("description") or "")[:DESCRIPTION_CHARS],
        "upvotes": issue.get("upvotes") if isinstance(issue.get("upvotes"), int) else 0,
    }
