"""A local GitLab-compatible server for tests and demos: the REST API v4's project issue list,
with GitLab's authentication, parameter validation, search semantics, pagination headers and
rate-limit answer, plus the fault injection of sandbox.base.ContractServer.

    server = GitLabServer().start()
    settings.GITLAB_URL = server.url
    settings.GITLAB_TOKEN = server.token
    settings.GITLAB_PROJECTS = ["driftwood/driftwood"]

What it follows (https://docs.gitlab.com/api/issues/#list-project-issues,
https://docs.gitlab.com/api/rest/#pagination, …/api/rest/authentication/):
- `GET /api/v4/projects/:id/issues`, `:id` a number or the URL-encoded path
  (`driftwood%2Fdriftwood`); unknown project, or a private one asked without a token →
  404 `{"message": "404 Project Not Found"}`.
- Token as `PRIVATE-TOKEN: …` or `Authorization: Bearer …`; a wrong one → 401
  `{"message": "401 Unauthorized"}`, even for a public project.
- `state` opened | closed | all (default all); `order_by` created_at (default) | updated_at |
  title | priority | … — there is no `relevance`; `sort` asc | desc; anything else → 400
  `{"error": "order_by does not have a valid value"}`. `per_page` 1-100 (default 20), `page`.
- `search`: every word of three or more characters must appear in the title, or every one in
  the description (`in=title` or `in=description` narrows it), case-insensitively — GitLab's
  fuzzy search on issues without Elasticsearch.
- Answers carry `X-Page`, `X-Per-Page`, `X-Total`, `X-Total-Pages`, `X-Next-Page`,
  `X-Prev-Page` and a `Link` header.
- Rate limited: HTTP 429, `Retry-After`, `RateLimit-*` headers, body `Retry later`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import unquote, urlencode

from werkzeug.wrappers import Request, Response

from mentiondesk.sandbox.base import ContractServer, html_page, json_response

JSON = dict[str, Any]
DEFAULT_TOKEN = "glpat-mentiondesk-test-0000000000"  # noqa: S105 (a fake)
ORDER_BY = (
    "created_at",
    "due_date",
    "label_priority",
    "milestone_due",
    "popularity",
    "priority",
    "relative_position",
    "title",
    "updated_at",
    "weight",
)


@dataclass
class CannedIssue:
    iid: int
    title: str
    description: str
    labels: list[str] = field(default_factory=list)
    state: str = "opened"
    updated_days_ago: float = 3.0
    created_days_ago: float = 40.0
    upvotes: int = 0
    user_notes_count: int = 0


@dataclass
class CannedProject:
    id: int
    path: str  # "driftwood/driftwood"
    issues: list[CannedIssue]
    public: bool = True


def driftwood_projects() -> list[CannedProject]:
    main = [
        CannedIssue(
            51234,
            "Runner token rotation fails with 401",
            "After rotating a runner authentication token from the group's CI/CD settings, "
            "the runner keeps sending the old token and every job request is answered with "
            "401 Unauthorized until the runner is registered again.",
            ["bug", "runner", "auth", "severity::2"],
            updated_days_ago=0.3,
            created_days_ago=6,
            upvotes=41,
            user_notes_count=23,
        ),
        CannedIssue(
            48211,
            "Merge request diff view crashes on files over 5,000 lines",
            "Opening the Changes tab of a merge request with a file over 5,000 lines shows "
            "'Something went wrong' and the diff never loads.",
            ["bug", "merge requests", "severity::3"],
            updated_days_ago=1,
            created_days_ago=20,
            upvotes=18,
            user_notes_count=9,
        ),
        CannedIssue(
            50102,
            "Pin a pipeline schedule to a runner tag",
            "Let a pipeline schedule choose the runner tag its jobs run on, so nightly "
            "builds can use the big machines.",
            ["feature", "ci", "pipeline schedules"],
            updated_days_ago=2,
            created_days_ago=70,
            upvotes=96,
        ),
        CannedIssue(
            47310,
            "Stacked merge requests",
            "Support merge requests that build on each other, including merge trains.",
            ["feature", "merge requests", "popular"],
            updated_days_ago=5,
            created_days_ago=400,
            upvotes=812,
            user_notes_count=140,
        ),
        CannedIssue(
            45880,
            "cache:key:files ignored when the file is in a subdirectory",
            "With `cache:key:files: [app/package-lock.json]` the cache key never changes.",
            ["bug", "ci", "caching"],
            updated_days_ago=12,
            created_days_ago=90,
        ),
        CannedIssue(
            46001,
            "Web IDE dark theme: diff highlights almost invisible",
            "Added and removed lines are hard to tell apart in the dark theme.",
            ["bug", "web ide", "accessibility"],
            state="closed",
            updated_days_ago=30,
            created_days_ago=120,
        ),
        CannedIssue(
            43002,
            "Push over HTTPS fails with 403 after personal access token expiry change",
            "Tokens created before the expiry policy change are refused with 403 on push.",
            ["bug", "auth"],
            state="closed",
            updated_days_ago=60,
            created_days_ago=75,
        ),
        CannedIssue(
            44120,
            "CI minutes usage page shows 0 for groups",
            "The usage quotas page shows 0 CI minutes used for some groups; billing is unaffected.",
            ["bug", "billing", "ci"],
            state="closed",
            updated_days_ago=8,
            created_days_ago=15,
        ),
        CannedIssue(
            51010,
            "Keyboard shortcut to jump to the next unresolved thread",
            "A shortcut in merge requests to move to the next unresolved discussion thread.",
            ["feature", "merge requests", "keyboard shortcuts"],
            updated_days_ago=4,
            created_days_ago=200,
            upvotes=57,
        ),
    ]
    runner = [
        CannedIssue(
            2210,
            "Runner fails to register with 401 after token rotation",
            "`driftwood-runner register` answers 401 once the registration token was rotated.",
            ["bug", "registration"],
            updated_days_ago=0.5,
            created_days_ago=3,
        ),
        CannedIssue(
            2150,
            "ARM64 images for the Kubernetes executor",
            "Publish arm64 helper images so the runner works on ARM64 Kubernetes nodes.",
            ["feature", "kubernetes"],
            updated_days_ago=9,
            created_days_ago=300,
        ),
    ]
    return [
        CannedProject(1, "driftwood/driftwood", main, public=True),
        CannedProject(2, "driftwood/runner", runner, public=False),
    ]


class GitLabServer(ContractServer):
    """A GitLab instance holding Driftwood's public product project and a private runner one."""

    name = "gitlab"

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        projects: list[CannedProject] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.token = token
        self.projects = driftwood_projects() if projects is None else projects
        self._issue_ids = itertools.count(9000)
        self._issue_id_by_key: dict[tuple[int, int], int] = {}

    def web_url(self, project_path: str, iid: int) -> str:
        return f"{self.url}/{project_path}/-/issues/{iid}"

    # The API

    def handle(self, request: Request) -> Response:
        if request.method == "GET" and not request.path.startswith("/api/"):
            return self._web_page(request.path)
        # The project's path arrives percent-encoded ("driftwood%2Fdriftwood"): split the path
        # as sent, before werkzeug decodes "%2F" into a separator.
        raw = str(request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or "")
        parts = (raw.split("?", 1)[0] or request.path).split("/")
        # ["", "api", "v4", "projects", "<id or encoded path>", "issues"]
        if parts[:4] != ["", "api", "v4", "projects"] or len(parts) < 5:
            return json_response(404, {"error": "404 Not Found"})
        if request.method != "GET":
            return json_response(405, {"error": "405 Method Not Allowed"})
        token = request.headers.get("PRIVATE-TOKEN") or request.headers.get(
            "Authorization", ""
        ).removeprefix("Bearer ")
        if token and token != self.token:
            return json_response(401, {"message": "401 Unauthorized"})
        project = self._project(unquote(parts[4]))
        if project is None or (not project.public and not token):
            return json_response(404, {"message": "404 Project Not Found"})
        if len(parts) == 5:
            return json_response(200, self._project_json(project))
        if parts[5:] != ["issues"]:
            return json_response(404, {"error": "404 Not Found"})
        return self._issues(request, project)

    def _web_page(self, path: str) -> Response:
        """The web UI's pages the desk links to (`web_url`, `new_issue_url`), as an anonymous
        visitor sees them: a private project's are not found."""
        project_path, found, rest = path.strip("/").partition("/-/issues")
        project = self._project(project_path) if found else None
        if project is None or not project.public:
            return html_page(404, "Page Not Found")
        if rest == "/new":
            return html_page(
                200,
                f"New issue · {project.path}",
                "<p>Sign in to open an issue (a sandbox stand-in: nothing is saved).</p>",
            )
        issue = next((i for i in project.issues if rest == f"/{i.iid}"), None)
        if issue is None:
            return html_page(404, "Page Not Found")
        return html_page(
            200,
            f"{issue.title} (#{issue.iid}) · {project.path}",
            f"<p>{escape(issue.state)} · {escape(', '.join(issue.labels))} · "
            f"{issue.upvotes} upvotes</p><p>{escape(issue.description)}</p>",
            description=issue.description,
        )

    def ratelimited_response(self, retry_after: str) -> Response:
        return Response(
            "Retry later\n",
            status=429,
            content_type="text/plain",
            headers={
                "Retry-After": retry_after,
                "RateLimit-Name": "throttle_authenticated_api",
                "RateLimit-Limit": "60",
                "RateLimit-Observed": "61",
                "RateLimit-Remaining": "0",
            },
        )

    def _project(self, ref: str) -> CannedProject | None:
        for project in self.projects:
            if ref == project.path or (ref.isdigit() and int(ref) == project.id):
                return project
        return None

    def _issues(self, request: Request, project: CannedProject) -> Response:
        args = request.args
        state = args.get("state", "all")
        order_by = args.get("order_by", "created_at")
        sort = args.get("sort", "desc")
        for name, value, allowed in (
            ("state", state, ("opened", "closed", "all")),
            ("order_by", order_by, ORDER_BY),
            ("sort", sort, ("asc", "desc")),
        ):
            if value not in allowed:
                return json_response(400, {"error": f"{name} does not have a valid value"})
        try:
            per_page = min(100, max(1, int(args.get("per_page", "20"))))
            page = max(1, int(args.get("page", "1")))
        except ValueError:
            return json_response(400, {"error": "per_page is invalid, page is invalid"})
        scope = [s.strip() for s in args.get("in", "title,description").split(",")]
        search = args.get("search", "")
        issues = [
            i
            for i in project.issues
            if (state == "all" or i.state == state) and _matches(i, search, scope)
        ]
        if order_by == "title":
            issues.sort(key=lambda i: i.title.lower(), reverse=sort == "desc")
        elif order_by == "updated_at":
            issues.sort(key=lambda i: i.updated_days_ago, reverse=sort == "asc")
        else:
            issues.sort(key=lambda i: i.created_days_ago, reverse=sort == "asc")
        total = len(issues)
        pages = max(1, -(-total // per_page))
        chunk = issues[(page - 1) * per_page : page * per_page]
        return json_response(
            200,
            [self._issue_json(project, i) for i in chunk],
            self._pagination_headers(request, page, per_page, total, pages),
        )

    def _pagination_headers(
        self, request: Request, page: int, per_page: int, total: int, pages: int
    ) -> dict[str, str]:
        base = f"{self.url}{request.path}"
        query = {k: v for k, v in request.args.items() if k != "page"}

        def link(n: int) -> str:
            return f"{base}?{urlencode({**query, 'page': n})}"

        links = [f'<{link(1)}>; rel="first"', f'<{link(pages)}>; rel="last"']
        if page < pages:
            links.insert(0, f'<{link(page + 1)}>; rel="next"')
        if page > 1:
            links.insert(0, f'<{link(page - 1)}>; rel="prev"')
        return {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Total": str(total),
            "X-Total-Pages": str(pages),
            "X-Next-Page": str(page + 1) if page < pages else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
            "Link": ", ".join(links),
        }

    def _project_json(self, project: CannedProject) -> JSON:
        namespace, _, name = project.path.rpartition("/")
        return {
            "id": project.id,
            "name": name,
            "path": name,
            "path_with_namespace": project.path,
            "name_with_namespace": f"{namespace.title()} / {name.title()}",
            "visibility": "public" if project.public else "private",
            "web_url": f"{self.url}/{project.path}",
            "default_branch": "main",
        }

    def _issue_json(self, project: CannedProject, issue: CannedIssue) -> JSON:
        key = (project.id, issue.iid)
        with self.lock:
            if key not in self._issue_id_by_key:
                self._issue_id_by_key[key] = next(self._issue_ids)
            issue_id = self._issue_id_by_key[key]
        api = f"{self.url}/api/v4/projects/{project.id}"
        author = {
            "id": 7,
            "username": "lena_ops",
            "name": "Lena Vogel",
            "state": "active",
            "locked": False,
            "avatar_url": f"{self.url}/uploads/-/system/user/avatar/7/avatar.png",
            "web_url": f"{self.url}/lena_ops",
        }
        closed = issue.state == "closed"
        return {
            "id": issue_id,
            "iid": issue.iid,
            "project_id": project.id,
            "title": issue.title,
            "description": issue.description,
            "state": issue.state,
            "created_at": self.ago(days=issue.created_days_ago),
            "updated_at": self.ago(days=issue.updated_days_ago),
            "closed_at": self.ago(days=issue.updated_days_ago) if closed else None,
            "closed_by": author if closed else None,
            "labels": list(issue.labels),
            "milestone": None,
            "assignees": [],
            "author": author,
            "type": "ISSUE",
            "assignee": None,
            "user_notes_count": issue.user_notes_count,
            "merge_requests_count": 1 if closed else 0,
            "upvotes": issue.upvotes,
            "downvotes": 0,
            "due_date": None,
            "confidential": False,
            "discussion_locked": None,
            "issue_type": "issue",
            "web_url": self.web_url(project.path, issue.iid),
            "time_stats": {
                "time_estimate": 0,
                "total_time_spent": 0,
                "human_time_estimate": None,
                "human_total_time_spent": None,
            },
            "task_completion_status": {"count": 0, "completed_count": 0},
            "has_tasks": False,
            "_links": {
                "self": f"{api}/issues/{issue.iid}",
                "notes": f"{api}/issues/{issue.iid}/notes",
                "award_emoji": f"{api}/issues/{issue.iid}/award_emoji",
                "project": api,
                "closed_as_duplicate_of": None,
            },
            "references": {
                "short": f"#{issue.iid}",
                "relative": f"#{issue.iid}",
                "full": f"{project.path}#{issue.iid}",
            },
            "severity": "UNKNOWN",
            "moved_to_id": None,
            "service_desk_reply_to": None,
        }


def _matches(issue: CannedIssue, search: str, scope: list[str]) -> bool:
    if not search.strip():
        return True
    words = [w.lower() for w in search.split() if len(w) >= 3] or [search.strip().lower()]
    columns = []
    if "title" in scope:
        columns.append(issue.title.lower())
    if "description" in scope:
        columns.append(issue.description.lower())
    return any(all(w in column for w in words) for column in columns)
