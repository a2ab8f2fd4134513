"""A local Mastodon instance: the endpoints the Mastodon connector uses, with the payload
shapes, ids, headers and errors of the recorded cassettes (`shared/fixtures/mastodon/`, the
"README" cited below): string ids (snowflake-like for statuses and accounts, small integers for
notifications), HTML `content` with h-card mentions, notifications with `group_key`,
`x-ratelimit-*` headers with an ISO reset, `Link` paging, `{"error": …}` bodies, and the
Mastodon 4.3 notification policy that holds mentions back as notification requests.

    server = MastodonSandbox().start()                 # http://127.0.0.1:<free port>
    desk = server.store.account_add("driftwood")       # our handle; desk.token authenticates
    ana = server.store.account_add("ana")
    server.store.status_post(ana.id, "@driftwood my export fails")
    server.store.statuses_by(desk.id)                  # what we posted
    server.store.fault_add("status", method="POST", path="/api/v1/statuses", after=True)

Besides the API it serves the pages a status's `url` and an account's `url` name
(`/@<username>/<id>`, `/@<username>`), where "View on Mastodon" leads in the demo, as plain
escaped HTML.

Faults (`fault_add(kind, …)`, for the next `count` matching requests): `status` answers
`status` (500 by default; 429 with `x-ratelimit-reset` `reset_in` seconds ahead) before the
work, or after it when `after=True` (the write is done, the answer says 500); `drop` closes
the connection without answering, before or after the work.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import urlencode

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from mentiondesk.core.localserver import LocalServer
from mentiondesk.sandbox.base import (
    Fault,
    Faults,
    drop_connection,
    html_page,
    iso,
    json_response,
)

JSON = dict[str, Any]
# Mastodon's throttles (README): 300 calls per 5 min per account; deletions 30 per 30 min.
GENERAL_LIMIT, GENERAL_PERIOD = 300, 300
DELETE_LIMIT, DELETE_PERIOD = 30, 1800
# The faults a test can inject (module docstring).
FAULT_KINDS = ("status", "drop")
IDEMPOTENCY_TTL = 3600  # Mastodon keeps an Idempotency-Key for an hour
MAX_CHARACTERS = 500
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]+)(?:@([A-Za-z0-9.-]+))?")
_LINK = re.compile(r"https?://[^\s<]+")
# The web pages a status's and an account's `url` name.
_PAGES = Map(
    [Rule("/@<username>/<status_id>", endpoint="status"), Rule("/@<username>", endpoint="account")]
)


@dataclass
class SandboxAccount:
    id: str
    username: str
    token: str
    display_name: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # The Mastodon 4.3 notification policy ("accept" or "filter"; "drop" is not modelled).
    for_not_following: str = "accept"
    for_private_mentions: str = "filter"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    args: dict[str, list[str]]
    idempotency_key: str | None
    account_id: str | None
    at: float


class MastodonStore:
    """The instance's state, in memory and thread-safe: accounts, statuses, notifications,
    follows, idempotency keys, rate-limit windows, faults and a log of requests."""

    def __init__(self, *, domain: str = "social.example") -> None:
        self.domain = domain
        self.base_url = f"https://{domain}"  # set to the server's URL when it starts
        self.max_characters = MAX_CHARACTERS
        self.lock = threading.RLock()
        self.accounts: dict[str, SandboxAccount] = {}
        self.statuses: dict[str, JSON] = {}  # id -> stored status (author id, text, …)
        self.notifications: list[JSON] = []
        self.follows: set[tuple[str, str]] = set()  # (follower id, followed id)
        self.favourites: set[tuple[str, str]] = set()  # (account id, status id)
        self.requests: list[RecordedRequest] = []
        self._idempotency: dict[tuple[str, str], tuple[str, float]] = {}
        self._windows: dict[tuple[str, str], tuple[int, float]] = {}  # -> (used, reset epoch)
        self.faults = Faults(FAULT_KINDS)
        self._last_id = 0
        self._notification_id = 0

    # Ids

    def _snowflake(self) -> str:
        # Mastodon's ids: milliseconds since the epoch << 16, plus a sequence (README).
        with self.lock:
            self._last_id = max(self._last_id + 1, int(time.time() * 1000) << 16)
            return str(self._last_id)

    # Setting up

    def account_add(
        self, username: str, *, display_name: str = "", for_not_following: str = "accept"
    ) -> SandboxAccount:
        """A local account with a fresh access token."""
        with self.lock:
            account = SandboxAccount(
                id=self._snowflake(),
                username=username,
                token=f"sbx-mastodon-{username}-{len(self.accounts)}",
                display_name=display_name,
                for_not_following=for_not_following,
            )
            self.accounts[account.id] = account
            return account

    def account_by_username(self, username: str) -> SandboxAccount | None:
        with self.lock:
            return next((a for a in self.accounts.values() if a.username == username), None)

    def account_for_token(self, token: str) -> SandboxAccount | None:
        with self.lock:
            return next((a for a in self.accounts.values() if a.token == token), None)

    # Statuses

    def status_post(
        self,
        account_id: str,
        text: str,
        *,
        in_reply_to_id: str | None = None,
        visibility: str = "public",
        idempotency_key: str | None = None,
        created_at: datetime | None = None,
    ) -> JSON:
        """Post as `account_id` (a customer, or us through the API); mentions of local
        accounts notify them, filtered by their policy. With `idempotency_key`, a second post
        within the hour returns the first status instead. `created_at` backdates it (the
        demo's seed). Returns the stored status."""
        with self.lock:
            now = time.time()
            if idempotency_key:
                known = self._idempotency.get((account_id, idempotency_key))
                if known and now - known[1] < IDEMPOTENCY_TTL and known[0] in self.statuses:
                    return self.statuses[known[0]]
            parent = self.statuses.get(in_reply_to_id) if in_reply_to_id else None
            if in_reply_to_id and parent is None:
                raise LookupError(in_reply_to_id)
            mentioned = [
                a.id
                for match in _MENTION.finditer(text)
                if match.group(2) in (None, self.domain)
                and (a := self.account_by_username(match.group(1))) is not None
            ]
            status: JSON = {
                "id": self._snowflake(),
                "account_id": account_id,
                "text": text,
                "created_at": created_at or datetime.now(UTC),
                "in_reply_to_id": in_reply_to_id,
                "in_reply_to_account_id": parent["account_id"] if parent else None,
                "visibility": visibility,
                "mentions": list(dict.fromkeys(mentioned)),
            }
            self.statuses[status["id"]] = status
            if idempotency_key:
                self._idempotency[(account_id, idempotency_key)] = (status["id"], now)
            for recipient in status["mentions"]:
                if recipient != account_id:
                    self._notify(recipient, account_id, status)
            return status

    def _notify(self, recipient_id: str, from_id: str, status: JSON) -> None:
        recipient = self.accounts[recipient_id]
        following = (recipient_id, from_id) in self.follows
        filtered = not following and (
            recipient.for_not_following == "filter"
            or (status["visibility"] == "direct" and recipient.for_private_mentions == "filter")
        )
        self._notification_id += 1
        self.notifications.append(
            {
                "id": self._notification_id,
                "recipient_id": recipient_id,
                "from_id": from_id,
                "status_id": status["id"],
                "created_at": status["created_at"],
                "filtered": filtered,
            }
        )

    def status_delete(self, status_id: str) -> JSON | None:
        with self.lock:
            status = self.statuses.pop(status_id, None)
            self.notifications = [n for n in self.notifications if n["status_id"] != status_id]
            return status

    def statuses_by(self, account_id: str) -> list[JSON]:
        """What `account_id` has posted (and not deleted), oldest first: read what we sent."""
        with self.lock:
            return [s for s in self.statuses.values() if s["account_id"] == account_id]

    # Faults and the request log

    def fault_add(
        self,
        kind: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int = 500,
        reset_in: float = 60.0,
        after: bool = False,
        count: int = 1,
    ) -> None:
        self.faults.add(
            Fault(
                kind,
                count=count,
                path=path,
                method=method,
                after=after,
                status=status,
                reset_in=reset_in,
            )
        )

    # Rate limits

    def window_count(self, account_id: str, bucket: str) -> tuple[int, int, float, bool]:
        """Count one call in `bucket`: (limit, remaining, reset epoch, allowed)."""
        limit, period = (
            (DELETE_LIMIT, DELETE_PERIOD)
            if bucket == "delete"
            else (
                GENERAL_LIMIT,
                GENERAL_PERIOD,
            )
        )
        with self.lock:
            now = time.time()
            used, reset = self._windows.get((account_id, bucket), (0, 0.0))
            if now >= reset:
                # Windows are aligned to the period, as Mastodon's (rack-attack) are.
                used, reset = 0, (now // period + 1) * period
            allowed = used < limit
            used += 1 if allowed else 0
            self._windows[(account_id, bucket)] = (used, reset)
            return limit, max(limit - used, 0), reset, allowed

    def window_spend(self, account_id: str, *, reset_in: float, bucket: str = "general") -> None:
        """Spend `account_id`'s bucket until `reset_in` seconds from now."""
        limit = DELETE_LIMIT if bucket == "delete" else GENERAL_LIMIT
        with self.lock:
            self._windows[(account_id, bucket)] = (limit, time.time() + reset_in)

    # Rendering, as Mastodon serialises

    def render_account(self, account: SandboxAccount) -> JSON:
        url = f"{self.base_url}/@{account.username}"
        with self.lock:
            statuses = len(self.statuses_by(account.id))
            followers = sum(1 for _, followed in self.follows if followed == account.id)
            following = sum(1 for follower, _ in self.follows if follower == account.id)
        missing = f"{self.base_url}/avatars/original/missing.png"
        header = f"{self.base_url}/headers/original/missing.png"
        return {
            "id": account.id,
            "username": account.username,
            "acct": account.username,
            "display_name": account.display_name,
            "locked": False,
            "bot": False,
            "discoverable": None,
            "indexable": False,
            "group": False,
            "created_at": iso(
                account.created_at.replace(hour=0, minute=0, second=0, microsecond=0)
            ),
            "note": "",
            "url": url,
            "uri": f"{self.base_url}/ap/users/{account.id}",
            "avatar": missing,
            "avatar_static": missing,
            "avatar_description": "",
            "header": header,
            "header_static": header,
            "header_description": "",
            "followers_count": followers,
            "following_count": following,
            "statuses_count": statuses,
            "last_status_at": None,
            "hide_collections": None,
            "show_media": True,
            "show_media_replies": True,
            "show_featured": True,
            "noindex": False,
            "feature_approval": {"automatic": [], "manual": [], "current_user": "denied"},
            "emojis": [],
            "roles": [],
            "fields": [],
        }

    def _content(self, text: str) -> str:
        """Mastodon's HTML for plain text: h-card mentions, shortened links, <p> and <br />."""

        def mention(match: re.Match[str]) -> str:
            account = self.account_by_username(match.group(1))
            if account is None or match.group(2) not in (None, self.domain):
                return match.group(0)
            return (
                f'<span class="h-card" translate="no"><a href="{self.base_url}/@{account.username}"'
                f' class="u-url mention">@<span>{account.username}</span></a></span>'
            )

        def link(match: re.Match[str]) -> str:
            url = html.unescape(match.group(0))
            scheme, rest = url.split("://", 1)
            shown, hidden = rest[:30], rest[30:]
            return (
                f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener"'
                f' translate="no"><span class="invisible">{scheme}://</span>'
                f'<span class="{"ellipsis" if hidden else ""}">{html.escape(shown)}</span>'
                f'<span class="invisible">{html.escape(hidden)}</span></a>'
            )

        paragraphs = []
        for paragraph in re.split(r"\n\s*\n", text.strip()):
            escaped = html.escape(paragraph, quote=False)
            escaped = _LINK.sub(link, escaped)
            escaped = _MENTION.sub(mention, escaped)
            paragraphs.append("<p>" + escaped.replace("\n", "<br />") + "</p>")
        return "".join(paragraphs)

    def render_status(self, status: JSON, *, viewer_id: str | None, own: bool = False) -> JSON:
        """A Status entity as `viewer_id` sees it. `own`: the author's view of a status it
        just posted or deleted (recorded with `pinned`, README)."""
        author = self.accounts[status["account_id"]]
        with self.lock:
            favourites = sum(1 for _, s in self.favourites if s == status["id"])
            replies = sum(1 for s in self.statuses.values() if s["in_reply_to_id"] == status["id"])
        rendered: JSON = {
            "id": status["id"],
            "created_at": iso(status["created_at"]),
            "in_reply_to_id": status["in_reply_to_id"],
            "in_reply_to_account_id": status["in_reply_to_account_id"],
            "sensitive": False,
            "spoiler_text": "",
            "visibility": status["visibility"],
            "language": "en",
            "uri": f"{self.base_url}/ap/users/{author.id}/statuses/{status['id']}",
            "url": f"{self.base_url}/@{author.username}/{status['id']}",
            "replies_count": replies,
            "reblogs_count": 0,
            "favourites_count": favourites,
            "quotes_count": 0,
            "edited_at": None,
            "favourited": (viewer_id, status["id"]) in self.favourites,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
            "content": self._content(status["text"]),
            "filtered": [],
            "reblog": None,
            "application": {"name": "mentiondesk", "website": None},
            "account": self.render_account(author),
            "media_attachments": [],
            "mentions": [
                {
                    "id": a.id,
                    "username": a.username,
                    "url": f"{self.base_url}/@{a.username}",
                    "acct": a.username,
                }
                for a in (self.accounts[i] for i in status["mentions"])
            ],
            "tags": [],
            "emojis": [],
            "tagged_collections": [],
            "quote": None,
            "card": None,
            "poll": None,
            "quote_approval": {"automatic": ["public"], "manual": [], "current_user": "automatic"},
        }
        if own:
            rendered["pinned"] = False
        return rendered

    def page_account_body(self, account: SandboxAccount) -> str:
        """The body of `account`'s web page: its latest public and unlisted statuses."""
        items = "".join(
            f'<li><a href="/@{html.escape(account.username)}/{html.escape(s["id"])}">'
            f"{html.escape(s['text'])}</a></li>"
            for s in reversed(self.statuses_by(account.id)[-20:])
            if s["visibility"] in ("public", "unlisted")
        )
        return f"<ul>{items}</ul>"

    def page_status_body(self, status: JSON) -> str:
        """The body of `status`'s web page: author, what it answers, its HTML content, its
        visibility (a sandbox shows every status; an instance shows a direct or private one
        only to those it addresses, signed in)."""
        author = self.accounts[status["account_id"]]
        name = html.escape(author.display_name or author.username)
        body = (
            f'<p><strong>{name}</strong> <a href="/@{html.escape(author.username)}">'
            f"@{html.escape(author.username)}@{html.escape(self.domain)}</a></p>"
        )
        parent = self.statuses.get(status["in_reply_to_id"] or "")
        if parent is not None:
            replied = self.accounts[parent["account_id"]].username
            body += (
                f'<p>Replying to <a href="/@{html.escape(replied)}/{html.escape(parent["id"])}">'
                f"@{html.escape(replied)}</a></p>"
            )
        return body + (
            f"<blockquote>{self._content(status['text'])}</blockquote>"
            f"<p><time>{iso(status['created_at'])}</time> · "
            f"<span data-visibility>{html.escape(status['visibility'])}</span></p>"
        )

    def render_notification(self, notification: JSON) -> JSON:
        return {
            "id": str(notification["id"]),
            "type": "mention",
            "created_at": iso(notification["created_at"]),
            "group_key": f"ungrouped-{notification['id']}",
            "account": self.render_account(self.accounts[notification["from_id"]]),
            "status": self.render_status(
                self.statuses[notification["status_id"]], viewer_id=notification["recipient_id"]
            ),
        }


class _Refused(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status, self.error = status, error


Handler = Callable[..., Any]


class MastodonApp:
    """WSGI application over one MastodonStore."""

    def __init__(self, store: MastodonStore) -> None:
        self.store = store
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/api/v1/accounts/verify_credentials", self._verify_credentials),
            ("GET", "/api/v1/accounts/lookup", self._account_lookup),
            ("GET", "/api/v1/accounts/<id>", self._account),
            ("GET", "/api/v1/accounts/<id>/statuses", self._account_statuses),
            ("GET", "/api/v1/notifications", self._notifications),
            ("GET", "/api/v1/notifications/requests", self._notification_requests),
            ("GET", "/api/v1/notifications/<id>", self._notification),
            ("GET", "/api/v1/statuses", self._statuses_lookup),
            ("POST", "/api/v1/statuses", self._status_post),
            ("GET", "/api/v1/statuses/<id>", self._status_get),
            ("DELETE", "/api/v1/statuses/<id>", self._status_delete),
            ("POST", "/api/v1/statuses/<id>/favourite", self._favourite),
            ("GET", "/api/v2/instance", self._instance),
        ]
        self._handlers = {f"{m} {path}": handler for m, path, handler in routes}
        self._url_map = Map(
            [Rule(path, methods=[m], endpoint=f"{m} {path}") for m, path, _ in routes],
            strict_slashes=False,  # Mastodon.py asks for /api/v2/instance/ (README)
        )

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        return self._dispatch(request)(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        if request.path.startswith("/@"):
            return self._web(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        account = self.store.account_for_token(token) if token else None
        store = self.store
        with store.lock:
            store.requests.append(
                RecordedRequest(
                    request.method,
                    request.path,
                    request.args.to_dict(flat=False),
                    request.headers.get("Idempotency-Key"),
                    account.id if account else None,
                    time.time(),
                )
            )
        try:
            endpoint, args = self._url_map.bind_to_environ(request.environ).match()
        except (NotFound, MethodNotAllowed) as exc:
            return json_response(exc.code or 404, {"error": "Not Found"})
        fault = store.faults.take(path=request.path, method=request.method)
        if fault and not fault.after:
            if fault.kind == "drop":
                drop_connection(request, server=MastodonSandbox.name)
            return self._fault_answer(fault, account, request.method)
        if account is None and endpoint != "GET /api/v2/instance":
            return json_response(401, {"error": "The access token is invalid"})
        bucket = "delete" if request.method == "DELETE" else "general"
        limit, remaining, reset, allowed = store.window_count(
            account.id if account else "-", bucket
        )
        headers = {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": _reset_header(reset),
        }
        if not allowed:
            return json_response(429, {"error": "Too many requests"}, headers)
        try:
            body, extra = self._handlers[str(endpoint)](request, account, **args)
            status = 200
        except _Refused as exc:
            body, extra, status = {"error": exc.error}, {}, exc.status
        if fault:  # after the work
            if fault.kind == "drop":
                drop_connection(request, server=MastodonSandbox.name)
            return self._fault_answer(fault, account, request.method)
        return json_response(status, body, headers | extra)

    # Web pages

    def _web(self, request: Request) -> Response:
        try:
            endpoint, args = _PAGES.bind_to_environ(request.environ).match()
        except (NotFound, MethodNotAllowed):
            return _web_page(404, "Page not found", "<p>There is no page here.</p>")
        store = self.store
        with store.lock:
            account = store.account_by_username(args["username"])
            if account is None:
                return _web_page(404, "Account not found", "<p>This account does not exist.</p>")
            name = account.display_name or account.username
            if endpoint == "account":
                title = f"{name} (@{account.username})"
                return _web_page(200, title, store.page_account_body(account))
            status = store.statuses.get(args["status_id"])
            if status is None or status["account_id"] != account.id:
                gone = "<p>This post does not exist (any more).</p>"
                return _web_page(404, "Post not found", gone)
            title = f"{name}: {status['text'][:80]}"
            return _web_page(200, title, store.page_status_body(status))

    def _fault_answer(self, fault: Fault, account: SandboxAccount | None, method: str) -> Response:
        if fault.status == 429:
            bucket = "delete" if method == "DELETE" else "general"
            if account is not None:
                self.store.window_spend(account.id, reset_in=fault.reset_in, bucket=bucket)
            headers = {
                "x-ratelimit-limit": str(DELETE_LIMIT if bucket == "delete" else GENERAL_LIMIT),
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": _reset_header(time.time() + fault.reset_in),
            }
            return json_response(429, {"error": "Too many requests"}, headers)
        return json_response(
            fault.status, {"error": "We're sorry, but something went wrong on our end."}
        )

    # Paging: newest first, since_id / min_id / max_id, Link as Mastodon writes it

    def _page(
        self, request: Request, items: list[tuple[int, Any]], *, default: int, most: int
    ) -> tuple[list[Any], dict[str, str]]:
        """`items` as (id, item) newest first; the page asked and its Link header."""
        args = request.args

        def bound(name: str) -> int | None:
            value = args.get(name, "")
            return int(value) if value.isdigit() else None

        limit = min(bound("limit") or default, most)
        max_id, since_id, min_id = bound("max_id"), bound("since_id"), bound("min_id")
        chosen = [
            (i, item)
            for i, item in items
            if (max_id is None or i < max_id)
            and (since_id is None or i > since_id)
            and (min_id is None or i > min_id)
        ]
        # min_id pages upwards: the oldest ones just above it.
        page = chosen[-limit:] if min_id is not None else chosen[:limit]
        if not page:
            return [], {}
        kept = [
            (k, v) for k, v in args.items(multi=True) if k not in {"max_id", "since_id", "min_id"}
        ]
        base = f"{self.store.base_url}{request.path}"
        newer = urlencode([("min_id", str(page[0][0])), *kept])
        older = urlencode([("max_id", str(page[-1][0])), *kept])
        link = f'<{base}?{older}>; rel="next", <{base}?{newer}>; rel="prev"'
        return [item for _, item in page], {"Link": link}

    # Handlers: (request, account, **path) -> (body, extra headers)

    def _verify_credentials(self, request: Request, account: SandboxAccount) -> Any:
        body = self.store.render_account(account)
        body["source"] = {
            "privacy": "public",
            "sensitive": False,
            "language": None,
            "note": "",
            "fields": [],
            "follow_requests_count": 0,
            "hide_collections": None,
            "discoverable": None,
            "indexable": False,
            "attribution_domains": [],
            "quote_policy": "public",
        }
        return body, {}

    def _account_lookup(self, request: Request, account: SandboxAccount) -> Any:
        acct = request.args.get("acct", "").lstrip("@")
        username, _, domain = acct.partition("@")
        found = self.store.account_by_username(username)
        if found is None or domain not in ("", self.store.domain):
            raise _Refused(404, "Record not found")
        return self.store.render_account(found), {}

    def _account(self, request: Request, account: SandboxAccount, id: str) -> Any:
        found = self.store.accounts.get(id)
        if found is None:
            raise _Refused(404, "Record not found")
        return self.store.render_account(found), {}

    def _visible(self, status: JSON, viewer: SandboxAccount) -> bool:
        return status["visibility"] != "direct" or viewer.id in (
            status["account_id"],
            *status["mentions"],
        )

    def _account_statuses(self, request: Request, account: SandboxAccount, id: str) -> Any:
        if id not in self.store.accounts:
            raise _Refused(404, "Record not found")
        with self.store.lock:
            statuses = [
                (int(s["id"]), s)
                for s in reversed(self.store.statuses_by(id))
                if self._visible(s, account)
            ]
        page, link = self._page(request, statuses, default=20, most=40)
        return [self.store.render_status(s, viewer_id=account.id) for s in page], link

    def _notifications(self, request: Request, account: SandboxAccount) -> Any:
        types = request.args.getlist("types[]") or ["mention"]
        from_id = request.args.get("account_id")
        include_filtered = request.args.get("include_filtered") == "true"
        with self.store.lock:
            chosen = [
                (n["id"], n)
                for n in reversed(self.store.notifications)
                if n["recipient_id"] == account.id
                and "mention" in types
                and (from_id is None or n["from_id"] == from_id)
                # Notification.browserable: filtered ones only with include_filtered or an
                # account_id (how a client reads a notification request without accepting).
                and (not n["filtered"] or include_filtered or from_id is not None)
            ]
        page, link = self._page(request, chosen, default=40, most=80)
        return [self.store.render_notification(n) for n in page], link

    def _notification(self, request: Request, account: SandboxAccount, id: str) -> Any:
        with self.store.lock:
            found = next(
                (
                    n
                    for n in self.store.notifications
                    if str(n["id"]) == id and n["recipient_id"] == account.id
                ),
                None,
            )
        if found is None:
            raise _Refused(404, "Record not found")
        return self.store.render_notification(found), {}

    def _notification_requests(self, request: Request, account: SandboxAccount) -> Any:
        """One request per account with filtered notifications, newest updated first; its id
        is its newest filtered notification's, which orders and pages them."""
        with self.store.lock:
            by_account: dict[str, list[JSON]] = {}
            for n in self.store.notifications:
                if n["recipient_id"] == account.id and n["filtered"]:
                    by_account.setdefault(n["from_id"], []).append(n)
            chosen = sorted(
                ((group[-1]["id"], (from_id, group)) for from_id, group in by_account.items()),
                key=lambda pair: pair[0],
                reverse=True,
            )
        page, link = self._page(request, chosen, default=40, most=80)
        body = [
            {
                "id": str(group[-1]["id"]),
                "created_at": iso(group[0]["created_at"]),
                "updated_at": iso(group[-1]["created_at"]),
                "account": self.store.render_account(self.store.accounts[from_id]),
                "notifications_count": str(len(group)),
                "last_status": self.store.render_status(
                    self.store.statuses[group[-1]["status_id"]], viewer_id=account.id
                ),
            }
            for from_id, group in page
        ]
        return body, link

    def _statuses_lookup(self, request: Request, account: SandboxAccount) -> Any:
        ids = request.args.getlist("id[]")
        with self.store.lock:
            found = [self.store.statuses.get(i) for i in ids]
        return [
            self.store.render_status(s, viewer_id=account.id)
            for s in found
            if s is not None and self._visible(s, account)
        ], {}

    def _status_get(self, request: Request, account: SandboxAccount, id: str) -> Any:
        status = self.store.statuses.get(id)
        if status is None or not self._visible(status, account):
            raise _Refused(404, "Record not found")
        return self.store.render_status(status, viewer_id=account.id), {}

    def _status_post(self, request: Request, account: SandboxAccount) -> Any:
        form: Any = request.get_json(silent=True) if request.is_json else request.form
        text = str((form or {}).get("status") or "")
        if not text.strip():
            raise _Refused(422, "Validation failed: Text can't be blank")
        if len(text) > self.store.max_characters:
            raise _Refused(
                422,
                f"Validation failed: Text character limit of {self.store.max_characters} exceeded",
            )
        visibility = str((form or {}).get("visibility") or "public")
        if visibility not in ("public", "unlisted", "private", "direct"):
            raise _Refused(422, "Validation failed: Visibility is not included in the list")
        try:
            status = self.store.status_post(
                account.id,
                text,
                in_reply_to_id=(form or {}).get("in_reply_to_id") or None,
                visibility=visibility,
                idempotency_key=request.headers.get("Idempotency-Key") or None,
            )
        except LookupError:
            raise _Refused(404, "Record not found") from None
        return self.store.render_status(status, viewer_id=account.id, own=True), {}

    def _status_delete(self, request: Request, account: SandboxAccount, id: str) -> Any:
        status = self.store.statuses.get(id)
        if status is None or status["account_id"] != account.id:
            raise _Refused(404, "Record not found")
        body = self.store.render_status(status, viewer_id=account.id, own=True)
        self.store.status_delete(id)
        body["text"] = status["text"]  # README: DELETE returns the source text
        return body, {}

    def _favourite(self, request: Request, account: SandboxAccount, id: str) -> Any:
        status = self.store.statuses.get(id)
        if status is None or not self._visible(status, account):
            raise _Refused(404, "Record not found")
        with self.store.lock:
            self.store.favourites.add((account.id, id))
        return self.store.render_status(status, viewer_id=account.id), {}

    def _instance(self, request: Request, account: SandboxAccount | None) -> Any:
        return {
            "domain": self.store.domain,
            "title": "Mastodon sandbox",
            "version": "4.6.4",
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "A local stand-in for a Mastodon instance (mentiondesk sandbox).",
            "api_versions": {"mastodon": 11},
            "configuration": {
                "statuses": {
                    "max_characters": self.store.max_characters,
                    "max_media_attachments": 4,
                    "characters_reserved_per_url": 23,
                },
            },
            "languages": ["en"],
            "rules": [],
        }, {}


def _reset_header(epoch: float) -> str:
    """x-ratelimit-reset as Mastodon writes it: ISO 8601 with microseconds (README)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _web_page(status: int, title: str, body: str) -> Response:
    """A page of the sandbox instance's web: `body` is HTML already escaped by the caller."""
    banner = "<p><small>Sandbox Mastodon instance: a local stand-in</small></p>"
    return html_page(status, title, banner + body)


class MastodonSandbox(LocalServer):
    """The sandbox Mastodon instance on a local port (see LocalServer); `store` is its state,
    and its `base_url` becomes the server's URL (links and `Link` headers point back here)."""

    name = "sandbox-mastodon"

    def __init__(
        self, store: MastodonStore | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(host=host, port=port)
        self.store = store if store is not None else MastodonStore()

    def wsgi_app(self) -> Any:
        return MastodonApp(self.store)

    def start(self) -> Self:
        super().start()
        self.store.base_url = self.url
        return self
