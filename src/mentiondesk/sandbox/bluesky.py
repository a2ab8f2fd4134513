"""A local Bluesky: the PDS and AppView XRPC endpoints the Bluesky connector uses, in memory.

    sandbox = BlueskySandbox().start()            # http://127.0.0.1:<free port>
    store = sandbox.store
    store.account_add("driftwood.test", password="app-pass")
    uri = store.post_add("ana.test", "@driftwood.test my build fails")   # a mention facet
    store.posts_by("driftwood.test")              # the records we posted
    store.fault("status", after_write=True, path="/xrpc/com.atproto.repo.createRecord")

Shapes follow the lexicons (bluesky-social/atproto `lexicons/`, as the `atproto` SDK's models
carry them): notifications (uri, cid, author profileView, reason, reasonSubject, record,
isRead, indexedAt), postViews, strong refs, XRPC errors `{"error", "message"}`. What the
reference PDS does and the connector relies on:

- createSession is limited per account to 30 per 5 minutes and 300 per day (429
  RateLimitExceeded with `ratelimit-*` headers); the store counts every call;
- an access token lives 2 hours (`access_ttl`), a refresh token 90 days; refreshSession
  rotates the refresh token, the old one staying usable for a 2-hour grace (as the reference
  PDS allows, so two processes refreshing at once do not lock each other out);
- an expired access token is answered 400 ExpiredToken;
- createRecord with a caller's `rkey` that already exists answers 500 InternalServerError and
  writes nothing (the reference PDS fails the repo write; it is not a 4xx);
- getRecord of a missing record is 400 RecordNotFound; deleteRecord of one is a 200.

Besides XRPC it serves the web pages "View on Bluesky" leads to in the demo
(MENTIONDESK_BLUESKY_WEB_URL, as bsky.app names them): `/profile/<handle or DID>/post/<rkey>`
and `/profile/<handle or DID>`, as plain escaped HTML.

Every answer carries `ratelimit-limit/remaining/reset/policy` (3000 calls per 5 minutes per
account, the PDS's general limit).

Faults (`fault(kind, count=1, path=None, after_write=False, …)`, for the next `count`
requests to paths starting with `path`): `status` answers `status` (default 500) with an XRPC
error body; `ratelimited` answers 429 with `ratelimit-reset` `reset_in` seconds ahead; `drop`
closes the connection without answering; `slow` waits `delay` seconds. With
`after_write=True` the request is carried out first (the record written), then the fault
answers: a write whose answer is lost.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

import regex
from atproto_client import models
from atproto_client.exceptions import ModelError
from atproto_client.models.utils import get_or_create
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

POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"
ACCESS_TTL = timedelta(hours=2)
REFRESH_TTL = timedelta(days=90)
REFRESH_GRACE = timedelta(hours=2)
SESSION_LIMITS = ((30, timedelta(minutes=5)), (300, timedelta(days=1)))
GENERAL_LIMIT = (3000, timedelta(minutes=5))
FAULT_KINDS = ("status", "ratelimited", "drop", "slow")
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_MENTION = regex.compile(r"(?<![\w@])@([a-zA-Z0-9][a-zA-Z0-9.-]*[a-zA-Z0-9])")
_LINK = regex.compile(r"https?://[^\s]+[^\s.,;:!?)\]\"']")
# The web pages, by bsky.app's paths (the actor is a handle or a DID).
_PAGES = Map(
    [
        Rule("/profile/<actor>/post/<rkey>", endpoint="post"),
        Rule("/profile/<actor>", endpoint="profile"),
    ]
)


class XrpcFailure(Exception):
    """An XRPC error answer: status, `error` name, `message`, extra headers."""

    def __init__(
        self, status: int, error: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {error}: {message}")
        self.status, self.error, self.message = status, error, message
        self.headers = headers or {}


def cid_of(value: Any) -> str:
    """A CIDv1 (dag-cbor, sha2-256, base32) over the value's canonical JSON: the shape of a
    real record CID (the real one hashes the DAG-CBOR bytes)."""
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).digest()
    raw = bytes([0x01, 0x71, 0x12, 0x20]) + digest
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass
class Account:
    did: str
    handle: str
    display_name: str
    password: str
    session_calls: list[float] = field(default_factory=list)
    calls: list[float] = field(default_factory=list)


@dataclass
class RecordEntry:
    uri: str
    cid: str
    value: dict[str, Any]
    indexed_at: datetime
    seq: int


@dataclass
class Notification:
    recipient: str  # DID
    uri: str
    cid: str
    author: str  # DID
    reason: str
    reason_subject: str | None
    record: dict[str, Any]
    indexed_at: datetime
    seq: int
    is_read: bool = False


@dataclass
class Token:
    did: str
    kind: str  # "access" | "refresh"
    expires_at: datetime
    replaced_at: datetime | None = None  # refresh tokens: when refreshSession rotated it


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str  # "/xrpc/<nsid>"
    args: dict[str, list[str]]
    body: Any
    at: float


class BlueskyStore:
    """The sandbox's accounts, repos, notifications and sessions, behind one lock."""

    def __init__(self, *, access_ttl: timedelta = ACCESS_TTL) -> None:
        self.lock = threading.RLock()
        self.access_ttl = access_ttl
        self._secret = secrets.token_bytes(32)
        self._accounts: dict[str, Account] = {}  # by DID
        self._by_handle: dict[str, str] = {}
        self._records: dict[tuple[str, str, str], RecordEntry] = {}
        self._notifications: list[Notification] = []
        self._tokens: dict[str, Token] = {}
        self.faults = Faults(FAULT_KINDS)
        self._log: list[LoggedRequest] = []
        self._seq = itertools.count(1)
        self._tid_last = 0
        self.counts: dict[str, int] = {"createSession": 0, "refreshSession": 0}

    # Accounts and sessions

    def account_add(self, handle: str, *, password: str = "", display_name: str = "") -> str:
        """Create an account (an app password is made up when none is given); returns its DID."""
        with self.lock:
            if handle.lower() in self._by_handle:
                return self._by_handle[handle.lower()]
            did = "did:plc:" + hashlib.sha256(handle.lower().encode()).hexdigest()[:24]
            secret = password or "-".join(secrets.token_hex(2) for _ in range(4))
            self._accounts[did] = Account(did, handle, display_name or handle.split(".")[0], secret)
            self._by_handle[handle.lower()] = did
            return did

    def app_password(self, handle: str) -> str:
        with self.lock:
            return self._account(handle).password

    def did_of(self, handle: str) -> str:
        with self.lock:
            return self._account(handle).did

    def _account(self, actor: str) -> Account:
        did = actor if actor.startswith("did:") else self._by_handle.get(actor.lower(), "")
        account = self._accounts.get(did)
        if account is None:
            raise XrpcFailure(400, "InvalidRequest", f"Unable to resolve identity: {actor}")
        return account

    def _jwt(self, did: str, kind: str, ttl: timedelta) -> str:
        now = datetime.now(UTC)
        header = _b64(json.dumps({"typ": "at+jwt", "alg": "HS256"}).encode())
        claims = {
            "scope": "com.atproto.access" if kind == "access" else "com.atproto.refresh",
            "sub": did,
            "aud": "did:web:sandbox.bluesky.local",
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
            "jti": secrets.token_hex(8),
        }
        payload = _b64(json.dumps(claims).encode())
        signature = hmac.new(self._secret, f"{header}.{payload}".encode(), "sha256").digest()
        token = f"{header}.{payload}.{_b64(signature)}"
        self._tokens[token] = Token(did, kind, now + ttl)
        return token

    def _session_answer(self, account: Account) -> dict[str, Any]:
        return {
            "did": account.did,
            "handle": account.handle,
            "accessJwt": self._jwt(account.did, "access", self.access_ttl),
            "refreshJwt": self._jwt(account.did, "refresh", REFRESH_TTL),
            "active": True,
        }

    def access_tokens_expire(self) -> None:
        """Every access token issued so far expires now (their JWT `exp` still says later):
        the PDS answers ExpiredToken, as after a signing-key rotation or a clock the client
        trusts wrongly."""
        with self.lock:
            now = datetime.now(UTC)
            for token in self._tokens.values():
                if token.kind == "access":
                    token.expires_at = min(token.expires_at, now)

    def refresh_tokens_revoke(self) -> None:
        """Every refresh token issued so far is dead (a password change, a revoked app
        password): only a new login helps."""
        with self.lock:
            for token in self._tokens.values():
                if token.kind == "refresh":
                    token.expires_at = datetime.now(UTC) - timedelta(seconds=1)

    # Content

    def _tid(self) -> str:
        micros = max(int(time.time() * 1_000_000), self._tid_last + 1)
        self._tid_last = micros
        value = (micros << 10) | 1
        return "".join(_TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))

    def post_add(
        self,
        handle: str,
        text: str,
        *,
        reply_to: str | None = None,
        quote: str | None = None,
        created_at: datetime | None = None,
    ) -> str:
        """Post as `handle` (a customer): @handles of sandbox accounts become mention facets
        (UTF-8 byte offsets), links become link facets; `reply_to` threads it (strong refs);
        `quote` embeds a post. Returns the post's at:// URI."""
        with self.lock:
            author = self._account(handle)
            record: dict[str, Any] = {
                "$type": POST,
                "text": text,
                "createdAt": iso(created_at or datetime.now(UTC)),
                "langs": ["en"],
            }
            facets = self._facets_of(text)
            if facets:
                record["facets"] = facets
            if reply_to:
                parent = self._record_at(reply_to)
                parent_ref = {"uri": parent.uri, "cid": parent.cid}
                root = parent.value.get("reply", {}).get("root", parent_ref)
                record["reply"] = {"root": root, "parent": parent_ref}
            if quote:
                quoted = self._record_at(quote)
                record["embed"] = {
                    "$type": "app.bsky.embed.record",
                    "record": {"uri": quoted.uri, "cid": quoted.cid},
                }
            return self._write(author, POST, self._tid(), record).uri

    def like_add(self, handle: str, uri: str) -> str:
        """`handle` likes the post `uri` (a notification of reason `like` for its author)."""
        with self.lock:
            subject = self._record_at(uri)
            record = {
                "$type": LIKE,
                "subject": {"uri": subject.uri, "cid": subject.cid},
                "createdAt": iso(datetime.now(UTC)),
            }
            return self._write(self._account(handle), LIKE, self._tid(), record).uri

    def _facets_of(self, text: str) -> list[dict[str, Any]]:
        facets: list[dict[str, Any]] = []
        for match in _MENTION.finditer(text):
            did = self._by_handle.get(match.group(1).lower())
            if did is None:
                continue
            start = len(text[: match.start()].encode())
            facets.append(
                {
                    "index": {"byteStart": start, "byteEnd": start + len(match.group(0).encode())},
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
                }
            )
        for match in _LINK.finditer(text):
            start = len(text[: match.start()].encode())  # facet offsets count UTF-8 bytes
            end = start + len(match.group(0).encode())
            facets.append(
                {
                    "index": {"byteStart": start, "byteEnd": end},
                    "features": [{"$type": "app.bsky.richtext.facet#link", "uri": match.group(0)}],
                }
            )
        return sorted(facets, key=lambda f: f["index"]["byteStart"])

    def _record_at(self, uri: str) -> RecordEntry:
        parts = uri.removeprefix("at://").split("/")
        if len(parts) != 3:
            raise XrpcFailure(400, "InvalidRequest", f"not a record URI: {uri}")
        did = self._account(parts[0]).did
        entry = self._records.get((did, parts[1], parts[2]))
        if entry is None:
            raise XrpcFailure(400, "RecordNotFound", f"Could not locate record: {uri}")
        return entry

    def _write(
        self, author: Account, collection: str, rkey: str, record: dict[str, Any]
    ) -> RecordEntry:
        """Store the record and notify whom it concerns, as the AppView would."""
        uri = f"at://{author.did}/{collection}/{rkey}"
        now = datetime.now(UTC)
        entry = RecordEntry(uri, cid_of(record), record, now, next(self._seq))
        self._records[(author.did, collection, rkey)] = entry
        notified: set[str] = {author.did}

        def notify(recipient: str, reason: str, subject: str | None) -> None:
            if recipient in notified or recipient not in self._accounts:
                return
            notified.add(recipient)
            self._notifications.append(
                Notification(
                    recipient,
                    uri,
                    entry.cid,
                    author.did,
                    reason,
                    subject,
                    record,
                    now,
                    next(self._seq),
                )
            )

        if collection == LIKE:
            subject = record["subject"]["uri"]
            notify(subject.removeprefix("at://").split("/")[0], "like", subject)
            return entry
        reply = record.get("reply")
        if isinstance(reply, dict):
            for ref in (reply["parent"], reply["root"]):
                notify(ref["uri"].removeprefix("at://").split("/")[0], "reply", ref["uri"])
        embed = record.get("embed")
        if isinstance(embed, dict) and embed.get("$type") == "app.bsky.embed.record":
            quoted = embed["record"]["uri"]
            notify(quoted.removeprefix("at://").split("/")[0], "quote", quoted)
        for facet in record.get("facets") or []:
            for feature in facet.get("features", []):
                if feature.get("$type") == "app.bsky.richtext.facet#mention":
                    notify(feature["did"], "mention", None)
        return entry

    def posts_by(self, handle: str) -> list[dict[str, Any]]:
        """The post records `handle` has in its repo, oldest first: {uri, cid, rkey, value}."""
        with self.lock:
            did = self._account(handle).did
            entries = sorted(
                (e for (d, c, _), e in self._records.items() if d == did and c == POST),
                key=lambda e: e.seq,
            )
            return [
                {"uri": e.uri, "cid": e.cid, "rkey": e.uri.rsplit("/", 1)[1], "value": e.value}
                for e in entries
            ]

    def post_get(self, uri: str) -> dict[str, Any] | None:
        """The record at `uri` as {uri, cid, author (its handle), value}, or None."""
        with self.lock:
            try:
                entry = self._record_at(uri)
            except XrpcFailure:
                return None
            author = self._accounts[uri.removeprefix("at://").split("/")[0]].handle
            return {"uri": entry.uri, "cid": entry.cid, "author": author, "value": entry.value}

    def likes_by(self, handle: str) -> list[dict[str, Any]]:
        with self.lock:
            did = self._account(handle).did
            return [e.value for (d, c, _), e in self._records.items() if d == did and c == LIKE]

    # Views

    def _profile(self, did: str) -> dict[str, Any]:
        account = self._accounts[did]
        return {"did": did, "handle": account.handle, "displayName": account.display_name}

    def _post_view(self, entry: RecordEntry) -> dict[str, Any]:
        did = entry.uri.removeprefix("at://").split("/")[0]
        replies = sum(
            1
            for e in self._records.values()
            if e.value.get("reply", {}).get("parent", {}).get("uri") == entry.uri
        )
        return {
            "uri": entry.uri,
            "cid": entry.cid,
            "author": self._profile(did),
            "record": entry.value,
            "indexedAt": iso(entry.indexed_at),
            "replyCount": replies,
            "repostCount": 0,
            "likeCount": 0,
            "quoteCount": 0,
        }

    # Faults and the request log

    def fault(
        self,
        kind: str,
        *,
        count: int = 1,
        path: str | None = None,
        after_write: bool = False,
        status: int = 500,
        reset_in: int = 60,
        delay: float = 0.0,
    ) -> None:
        """Make the next `count` requests (to paths starting with `path`) fail: see the
        module docstring."""
        self.faults.add(
            Fault(
                kind,
                count=count,
                path=path,
                after=after_write,
                status=status,
                reset_in=reset_in,
                delay=delay,
            )
        )

    def request_log(self) -> list[LoggedRequest]:
        with self.lock:
            return list(self._log)

    def calls(self, nsid: str) -> int:
        """How many requests named `nsid` reached the sandbox (answered or not)."""
        with self.lock:
            return sum(1 for r in self._log if r.path == f"/xrpc/{nsid}")


class BlueskyApp:
    """The XRPC endpoints, over a BlueskyStore."""

    def __init__(self, store: BlueskyStore) -> None:
        self.store = store
        self.routes: dict[str, Callable[[Request, Account | None], dict[str, Any]]] = {
            "com.atproto.server.createSession": self.create_session,
            "com.atproto.server.refreshSession": self.refresh_session,
            "com.atproto.server.getSession": self.get_session,
            "com.atproto.identity.resolveHandle": self.resolve_handle,
            "com.atproto.repo.createRecord": self.create_record,
            "com.atproto.repo.getRecord": self.get_record,
            "com.atproto.repo.deleteRecord": self.delete_record,
            "app.bsky.notification.listNotifications": self.list_notifications,
            "app.bsky.feed.getAuthorFeed": self.get_author_feed,
            "app.bsky.feed.getPosts": self.get_posts,
            "app.bsky.actor.getProfile": self.get_profile,
        }
        self.public = {
            "com.atproto.server.createSession",
            "com.atproto.server.refreshSession",
            "com.atproto.identity.resolveHandle",
            "com.atproto.repo.getRecord",
        }

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if not request.path.startswith("/xrpc/"):
            return self._web(request)
        store = self.store
        body: Any = None
        if request.method == "POST" and request.get_data():
            try:
                body = json.loads(request.get_data())
            except ValueError:
                body = None
        with store.lock:
            store._log.append(
                LoggedRequest(
                    request.method,
                    request.path,
                    request.args.to_dict(flat=False),
                    body,
                    time.time(),
                )
            )
        fault = store.faults.take(path=request.path)
        if fault is not None and not fault.after:
            answer = self._fault_answer(fault, request)
            if answer is not None:
                return answer
        nsid = request.path.removeprefix("/xrpc/")
        route = self.routes.get(nsid)
        headers: dict[str, str] = {}
        try:
            if route is None:
                raise XrpcFailure(501, "MethodNotImplemented", f"Method Not Implemented: {nsid}")
            with store.lock:
                account = None if nsid in self.public else self._authed(request, nsid)
                if account is not None:
                    headers = self._general_limit(account)
                answer = json_response(200, route(request, account), headers)
        except XrpcFailure as failure:
            answer = json_response(
                failure.status,
                {"error": failure.error, "message": failure.message},
                {**headers, **failure.headers},
            )
        if fault is not None and fault.after:
            faulted = self._fault_answer(fault, request)
            if faulted is not None:
                return faulted
        return answer

    # Web pages

    def _web(self, request: Request) -> Response:
        try:
            endpoint, args = _PAGES.bind_to_environ(request.environ).match()
        except (NotFound, MethodNotAllowed):
            return _web_page(404, "Page not found", "<p>There is no page here.</p>")
        with self.store.lock:
            try:
                account = self.store._account(args["actor"])
            except XrpcFailure:
                return _web_page(404, "Profile not found", "<p>This account does not exist.</p>")
            if endpoint == "post":
                return self._page_post(account, args["rkey"])
            return self._page_profile(account)

    def _page_post(self, account: Account, rkey: str) -> Response:
        post = self.store.post_get(f"at://{account.did}/{POST}/{rkey}")
        if post is None:
            return _web_page(404, "Post not found", "<p>This post does not exist (any more).</p>")
        text = post["value"]["text"]
        body = (
            f"<p><strong>{escape(account.display_name)}</strong> "
            f'<a href="/profile/{escape(account.handle)}">@{escape(account.handle)}</a></p>'
        )
        parent = post["value"].get("reply", {}).get("parent", {}).get("uri")
        if parent and (replied := self.store.post_get(parent)) is not None:
            body += (
                f'<p>Replying to <a href="{escape(_page_path(replied))}">'
                f"@{escape(replied['author'])}</a></p>"
            )
        body += (
            f"<blockquote>{escape(text)}</blockquote>"
            f"<p><time>{escape(post['value']['createdAt'])}</time></p>"
        )
        return _web_page(200, f"{account.display_name} on Bluesky: {text[:80]}", body)

    def _page_profile(self, account: Account) -> Response:
        posts = self.store.posts_by(account.handle)[-20:]
        items = "".join(
            f'<li><a href="/profile/{escape(account.handle)}/post/{escape(p["rkey"])}">'
            f"{escape(p['value']['text'])}</a></li>"
            for p in reversed(posts)
        )
        return _web_page(200, f"{account.display_name} (@{account.handle})", f"<ul>{items}</ul>")

    def _fault_answer(self, fault: Fault, request: Request) -> Response | None:
        if fault.kind == "drop":
            drop_connection(request, server=BlueskySandbox.name)
        if fault.kind == "slow":
            time.sleep(fault.delay)
            return None
        if fault.kind == "ratelimited":
            reset = int(time.time()) + int(fault.reset_in)
            return json_response(
                429,
                {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                {
                    "ratelimit-limit": str(GENERAL_LIMIT[0]),
                    "ratelimit-remaining": "0",
                    "ratelimit-reset": str(reset),
                    "ratelimit-policy": _policy(*GENERAL_LIMIT),
                },
            )
        return json_response(
            fault.status,
            {"error": "InternalServerError", "message": "Internal Server Error"},
        )

    # Auth and limits

    def _bearer(self, request: Request) -> Token:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            raise XrpcFailure(401, "AuthMissing", "Authentication Required")
        token = self.store._tokens.get(auth.removeprefix("Bearer ").strip())
        if token is None:
            raise XrpcFailure(400, "InvalidToken", "Token could not be verified")
        return token

    def _authed(self, request: Request, nsid: str) -> Account:
        token = self._bearer(request)
        if token.kind != "access":
            raise XrpcFailure(400, "InvalidToken", "Bad token scope")
        if token.expires_at <= datetime.now(UTC):
            raise XrpcFailure(400, "ExpiredToken", "Token has expired")
        return self.store._accounts[token.did]

    def _general_limit(self, account: Account) -> dict[str, str]:
        limit, window = GENERAL_LIMIT
        now = time.time()
        account.calls = [t for t in account.calls if t > now - window.total_seconds()]
        account.calls.append(now)
        reset = int((account.calls[0] if account.calls else now) + window.total_seconds())
        headers = {
            "ratelimit-limit": str(limit),
            "ratelimit-remaining": str(max(0, limit - len(account.calls))),
            "ratelimit-reset": str(reset),
            "ratelimit-policy": f"{limit};w={int(window.total_seconds())}",
        }
        if len(account.calls) > limit:
            raise XrpcFailure(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
        return headers

    # Sessions

    def create_session(self, request: Request, _: Account | None) -> dict[str, Any]:
        body = _object(request)
        store = self.store
        store.counts["createSession"] += 1
        identifier = str(body.get("identifier") or "")
        try:
            account = store._account(identifier)
        except XrpcFailure:
            raise XrpcFailure(
                401, "AuthenticationRequired", "Invalid identifier or password"
            ) from None
        now = time.time()
        account.session_calls.append(now)
        for limit, window in SESSION_LIMITS:
            recent = [t for t in account.session_calls if t > now - window.total_seconds()]
            if len(recent) > limit:
                raise XrpcFailure(
                    429,
                    "RateLimitExceeded",
                    "Rate Limit Exceeded",
                    {
                        "ratelimit-limit": str(limit),
                        "ratelimit-remaining": "0",
                        "ratelimit-reset": str(int(recent[0] + window.total_seconds())),
                        "ratelimit-policy": f"{limit};w={int(window.total_seconds())}",
                    },
                )
        if not hmac.compare_digest(str(body.get("password") or ""), account.password):
            raise XrpcFailure(401, "AuthenticationRequired", "Invalid identifier or password")
        return store._session_answer(account)

    def refresh_session(self, request: Request, _: Account | None) -> dict[str, Any]:
        store = self.store
        store.counts["refreshSession"] += 1
        token = self._bearer(request)
        now = datetime.now(UTC)
        if token.kind != "refresh":
            raise XrpcFailure(400, "InvalidToken", "Bad token scope")
        if token.expires_at <= now or (
            token.replaced_at is not None and token.replaced_at + REFRESH_GRACE <= now
        ):
            raise XrpcFailure(400, "ExpiredToken", "Token has been revoked")
        token.replaced_at = token.replaced_at or now
        return store._session_answer(store._accounts[token.did])

    def get_session(self, _: Request, account: Account | None) -> dict[str, Any]:
        account = _signed_in(account)
        return {"did": account.did, "handle": account.handle, "active": True}

    def resolve_handle(self, request: Request, _: Account | None) -> dict[str, Any]:
        handle = request.args.get("handle", "")
        did = self.store._by_handle.get(handle.lower())
        if did is None:
            raise XrpcFailure(400, "InvalidRequest", "Unable to resolve handle")
        return {"did": did}

    # Repo

    def create_record(self, request: Request, account: Account | None) -> dict[str, Any]:
        account = _signed_in(account)
        store = self.store
        body = _object(request)
        if store._account(str(body.get("repo") or "")).did != account.did:
            raise XrpcFailure(403, "InvalidRequest", "Not your repo")
        collection, record = body.get("collection"), body.get("record")
        if collection not in (POST, LIKE) or not isinstance(record, dict):
            raise XrpcFailure(400, "InvalidRequest", f"Unsupported collection {collection!r}")
        if record.get("$type") != collection:
            raise XrpcFailure(400, "InvalidRecord", f"Invalid $type: expected {collection}")
        model = (
            models.AppBskyFeedPost.Record if collection == POST else models.AppBskyFeedLike.Record
        )
        try:
            get_or_create(record, model, strict=True, strict_string_format=True)
        except ModelError as exc:
            raise XrpcFailure(400, "InvalidRecord", f"Invalid {collection} record: {exc}") from None
        if collection == POST and len(regex.findall(r"\X", record["text"])) > 300:
            raise XrpcFailure(
                400,
                "InvalidRecord",
                f"Invalid {POST} record: Record/text must not be longer than 300 graphemes",
            )
        rkey = body.get("rkey") or store._tid()
        if (
            not isinstance(rkey, str)
            or not regex.fullmatch(r"[A-Za-z0-9._:~-]{1,512}", rkey)
            or rkey in (".", "..")
        ):
            raise XrpcFailure(400, "InvalidRequest", f"Invalid record key: {rkey!r}")
        if (account.did, collection, rkey) in store._records:
            # The reference PDS: the repo write fails on an existing key; nothing is written.
            raise XrpcFailure(500, "InternalServerError", "Internal Server Error")
        entry = store._write(account, collection, rkey, record)
        return {
            "uri": entry.uri,
            "cid": entry.cid,
            "commit": {"cid": cid_of({"commit": entry.seq}), "rev": store._tid()},
            "validationStatus": "valid",
        }

    def get_record(self, request: Request, _: Account | None) -> dict[str, Any]:
        repo, collection, rkey = (request.args.get(n, "") for n in ("repo", "collection", "rkey"))
        did = self.store._account(repo).did
        entry = self.store._records.get((did, collection, rkey))
        if entry is None:
            raise XrpcFailure(
                400, "RecordNotFound", f"Could not locate record: at://{did}/{collection}/{rkey}"
            )
        return {"uri": entry.uri, "cid": entry.cid, "value": entry.value}

    def delete_record(self, request: Request, account: Account | None) -> dict[str, Any]:
        account = _signed_in(account)
        store = self.store
        body = _object(request)
        if store._account(str(body.get("repo") or "")).did != account.did:
            raise XrpcFailure(403, "InvalidRequest", "Not your repo")
        key = (account.did, str(body.get("collection")), str(body.get("rkey")))
        entry = store._records.pop(key, None)
        if entry is not None:
            store._notifications = [n for n in store._notifications if n.uri != entry.uri]
        return {"commit": {"cid": cid_of({"delete": key}), "rev": store._tid()}}

    # AppView

    def list_notifications(self, request: Request, account: Account | None) -> dict[str, Any]:
        account = _signed_in(account)
        limit = _limit(request)
        reasons = request.args.getlist("reasons")
        cursor = request.args.get("cursor")
        items = sorted(
            (
                n
                for n in self.store._notifications
                if n.recipient == account.did
                and (not reasons or n.reason in reasons)
                and (cursor is None or n.seq < int(cursor))
            ),
            key=lambda n: n.seq,
            reverse=True,
        )
        page = items[:limit]
        answer: dict[str, Any] = {
            "notifications": [
                {
                    "uri": n.uri,
                    "cid": n.cid,
                    "author": self.store._profile(n.author),
                    "reason": n.reason,
                    **({"reasonSubject": n.reason_subject} if n.reason_subject else {}),
                    "record": n.record,
                    "isRead": n.is_read,
                    "indexedAt": iso(n.indexed_at),
                    "labels": [],
                }
                for n in page
            ],
        }
        if len(items) > limit:
            answer["cursor"] = str(page[-1].seq)
        return answer

    def get_profile(self, request: Request, _: Account | None) -> dict[str, Any]:
        actor = request.args.get("actor", "")
        try:
            did = self.store._account(actor).did
        except XrpcFailure:
            raise XrpcFailure(400, "InvalidRequest", "Profile not found") from None
        posts = sum(1 for (d, c, _r) in self.store._records if d == did and c == POST)
        return {**self.store._profile(did), "postsCount": posts}

    def get_author_feed(self, request: Request, _: Account | None) -> dict[str, Any]:
        store = self.store
        did = store._account(request.args.get("actor", "")).did
        limit = _limit(request)
        cursor = request.args.get("cursor")
        entries = sorted(
            (
                e
                for (d, c, _r), e in store._records.items()
                if d == did and c == POST and (cursor is None or e.seq < int(cursor))
            ),
            key=lambda e: e.seq,
            reverse=True,
        )
        page = entries[:limit]
        answer: dict[str, Any] = {"feed": [{"post": store._post_view(e)} for e in page]}
        if len(entries) > limit:
            answer["cursor"] = str(page[-1].seq)
        return answer

    def get_posts(self, request: Request, _: Account | None) -> dict[str, Any]:
        uris = request.args.getlist("uris")
        if len(uris) > 25:
            raise XrpcFailure(400, "InvalidRequest", "uris must not have more than 25 elements")
        posts = []
        for uri in uris:
            try:
                posts.append(self.store._post_view(self.store._record_at(uri)))
            except XrpcFailure:
                continue  # the AppView leaves out what it cannot show
        return {"posts": posts}


def _page_path(post: dict[str, Any]) -> str:
    """The web page of `post` ({uri, author (a handle)}), as bsky.app names it."""
    return f"/profile/{post['author']}/post/{post['uri'].rsplit('/', 1)[1]}"


def _web_page(status: int, title: str, body: str) -> Response:
    """A page of the sandbox's web: `body` is HTML already escaped by the caller."""
    banner = "<p><small>Sandbox Bluesky: a local stand-in, not bsky.app</small></p>"
    return html_page(status, title, banner + body)


def _signed_in(account: Account | None) -> Account:
    if account is None:  # only the public routes run without an account
        raise XrpcFailure(401, "AuthMissing", "Authentication Required")
    return account


def _object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.get_data() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise XrpcFailure(400, "InvalidRequest", "Request body must be a JSON object")
    return body


def _limit(request: Request) -> int:
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise XrpcFailure(400, "InvalidRequest", "limit must be an integer from 1 to 100")
    return int(raw)


def _policy(limit: int, window: timedelta) -> str:
    """`ratelimit-policy`: "<limit>;w=<window seconds>"."""
    return f"{limit};w={int(window.total_seconds())}"


class BlueskySandbox(LocalServer):
    """The local Bluesky on a port (see LocalServer); `store` is its state."""

    name = "sandbox-bluesky"

    def __init__(
        self, store: BlueskyStore | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(host=host, port=port)
        self.store = store if store is not None else BlueskyStore()

    def wsgi_app(self) -> Any:
        return BlueskyApp(self.store)
