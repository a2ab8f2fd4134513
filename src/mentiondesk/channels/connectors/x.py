"""X API v2 connector: vendor I/O only, over httpx.

Every method returns the dataclasses of `base.py` and raises only `base.py` errors. The base URL
is configurable, so the same code talks to api.x.com, to a gateway, or to the local sandbox
(`mentiondesk.sandbox`). Facts cited as "API-FACTS §n" are in
`shared/fixtures/x-api-v2/API-FACTS.md`; "README" is the fixtures README beside it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx
import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError

from mentiondesk import __version__
from mentiondesk.channels.connectors.base import (
    CallReport,
    ConnectorBase,
    ConnectorError,
    DmPage,
    OutcomeUnknown,
    PayloadProblem,
    PostPage,
    RateLimited,
    Rejected,
    RemoteDm,
    RemotePost,
    RemoteUser,
    Unreachable,
)
from mentiondesk.channels.connectors.ratelimits import (
    BOOK,
    RateLimitStatus,
    token_digest,
)
from mentiondesk.core.constants import POST_TIME_MAX, POST_TIME_MIN, POST_TIME_RANGE

if TYPE_CHECKING:
    from typing_extensions import TypeIs

logger = logging.getLogger(__name__)

# Recorded traffic and spec 2.159 name the parameter `tweet.fields` (README, "Naming difference").
POST_FIELDS = "conversation_id,created_at,in_reply_to_user_id,referenced_tweets,entities,author_id"
EXPANSIONS = "author_id,referenced_tweets.id"
USER_FIELDS = "username,name"
MAX_LOOKUP_IDS = 100
# Spec 2.159's names, as for posts (spec 2.167 moves sender_id and participant_ids to
# `expansions`); only messages: joins and leaves say nothing to a ticket.
DM_EVENT_FIELDS = "id,text,event_type,created_at,sender_id,dm_conversation_id,participant_ids"
DM_EVENT_TYPES = "MessageCreate"
# X sends no Retry-After; without a reset header, wait one standard window (API-FACTS §2).
DEFAULT_RESET_WAIT = timedelta(minutes=15)
# Snowflake ids carry their creation time: milliseconds since this epoch, shifted left by 22.
_SNOWFLAKE_EPOCH_MS = 1288834974657


# --- X's clock ----------------------------------------------------------------------------------


def clock_skew(*, base_url: str) -> timedelta | None:
    """X's clock minus ours, in whole seconds, as the latest response from `base_url` in this
    process measured it (`clock_skew_measure`); None before the first response with a Date."""
    return BOOK.skew_get(base_url.rstrip("/"))


def clock_skew_measure(
    headers: Mapping[str, str], *, sent_at: datetime, received_at: datetime
) -> timedelta | None:
    """X's clock minus ours, from the `Date` header of a response to a request sent at
    `sent_at` and answered at `received_at` (our clock), to the second; None without a
    readable Date.

    X writes RFC 7231 dates, lately with "UTC" for "GMT" (`Fri, 07 Oct 2022 22:43:18 UTC`,
    recorded cassettes), and to the second: the header says X's time was within [Date,
    Date + 1 s) at some moment of the exchange, so its middle is set against the exchange's."""
    # One Date is the rule; with several (a hop that adds its own), the last is read, whole.
    dates = headers.get_list("date") if isinstance(headers, httpx.Headers) else []
    value = dates[-1] if dates else headers.get("date")
    if not value:
        return None
    try:
        stamped = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if stamped.tzinfo is None:  # "-0000": UTC by RFC 5322
        stamped = stamped.replace(tzinfo=UTC)
    middle = sent_at + (received_at - sent_at) / 2
    return timedelta(seconds=round((stamped - middle).total_seconds() + 0.5))


# --- Parsing ------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    """A JSON list, or [] for anything else: R's jsonlite writes an empty list as `{}` (README)."""
    return value if isinstance(value, list) else []


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _id(value: Any) -> str | None:
    """IDs are JSON strings of digits (README); anything else is unusable."""
    if isinstance(value, str) and value.isdigit():
        return value
    return None


def _parse_time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # year 1 with an offset east of UTC
        return None
    return moment if _time_plausible(moment) else None


def _time_plausible(moment: datetime | None) -> TypeIs[datetime]:
    return moment is not None and POST_TIME_MIN <= moment < POST_TIME_MAX


def url_shown(url: str, text: str | None = None) -> str:
    """`text` (default: `url` itself) with the credentials `url` may carry (a gateway's
    `https://user:secret@host`) masked: error messages and logs never show them."""
    text = url if text is None else text
    userinfo = urlsplit(url).netloc.rpartition("@")[0]
    return text.replace(userinfo, "***") if userinfo else text


def _snowflake_time(post_id: str) -> datetime:
    return datetime.fromtimestamp(((int(post_id) >> 22) + _SNOWFLAKE_EPOCH_MS) / 1000, UTC)


def _problem_text(body: Any) -> str:
    """The human part of a problem (`detail`/`title`) and of any `errors[]` entries."""
    if not isinstance(body, dict):
        return str(body)[:200] if body else ""
    parts = [body.get("detail") or body.get("title") or body.get("message")]
    parts.extend(
        error.get("detail") or error.get("message") or error.get("title")
        for error in _as_list(body.get("errors"))
        if isinstance(error, dict)
    )
    return "; ".join(str(part) for part in parts if part)


def _has_surrogate(value: Any) -> bool:
    """Whether a JSON value holds an unpaired surrogate anywhere (X's JSON can escape one as
    `"\\udc00"`): valid JSON, but no UTF-8 form, so no database can store it as text."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def storable(value: Any) -> Any:
    """`value` itself when a database can keep it as JSON, else its JSON text with every
    character escaped: a string, so nothing is lost and both SQLite and PostgreSQL accept it.

    What needs the escape: an unpaired surrogate (no UTF-8 form) and, for PostgreSQL, NUL;
    either one anywhere in a problem's payload would fail the statement storing it."""
    try:
        text = json.dumps(value, ensure_ascii=False)
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return "(a value that cannot be written as JSON)"
    return json.dumps(value) if _NUL_ESCAPE.search(text) else value


def _kept(problem: PayloadProblem) -> PayloadProblem:
    """The problem as the database can keep it: its payload through `storable`, its reason
    with unstorable characters escaped."""
    raw, reason = storable(problem.raw), problem.reason
    if _has_surrogate(reason) or "\x00" in reason:
        reason = reason.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00")
    return (
        problem if raw is problem.raw and reason is problem.reason else PayloadProblem(reason, raw)
    )


def parse_post(item: Any, users: dict[str, dict[str, Any]]) -> RemotePost | PayloadProblem:
    """Normalise one post object; `users` maps author ids to `includes.users` entries.

    Accepts both spellings of the spec (`referenced_tweets`/`referenced_posts`; the edit history
    is only kept in `raw`). A missing `conversation_id` means the post starts its own
    conversation; a missing `created_at` is read from the snowflake id. Returns a PayloadProblem,
    never raises, when `id`, `text` or `author_id` is missing, `created_at` is unreadable, or
    the item or its author holds a character no database stores (an unpaired surrogate).
    """
    if not isinstance(item, dict):
        return PayloadProblem("item is not an object", raw=item)
    post_id = _id(item.get("id"))
    if post_id is None:
        return PayloadProblem("missing or invalid id", raw=item)
    text = item.get("text")
    if not isinstance(text, str):
        return PayloadProblem(f"post {post_id}: missing text", raw=item)
    author_id = _id(item.get("author_id"))
    if author_id is None:
        return PayloadProblem(f"post {post_id}: missing author_id", raw=item)
    created_raw = item.get("created_at")
    if created_raw is None:
        # X's ids are 64-bit: a longer one would put the time past what datetime holds.
        created_at: datetime | None = _snowflake_time(post_id) if len(post_id) <= 19 else None
    else:
        created_at = _parse_time(created_raw) if isinstance(created_raw, str) else None
    if not _time_plausible(created_at):
        return PayloadProblem(
            f"post {post_id}: bad created_at {created_raw!r} (a time {POST_TIME_RANGE} is "
            "expected)",
            raw=item,
        )
    author = users.get(author_id, {})
    # Decided per item: this post cannot be stored, the rest of its page can.
    for where, value in (("text", text), ("payload", item), ("author", author.get("username"))):
        if _has_surrogate(value):
            return PayloadProblem(
                f"post {post_id}: an unpaired surrogate in its {where} (no UTF-8 form)", raw=item
            )

    references = _as_list(item.get("referenced_tweets")) or _as_list(item.get("referenced_posts"))
    in_reply_to_id = next(
        (
            _id(ref.get("id"))
            for ref in references
            if isinstance(ref, dict) and ref.get("type") == "replied_to" and _id(ref.get("id"))
        ),
        None,
    )
    entities = _as_dict(item.get("entities"))
    mentions = tuple(
        m["username"]
        for m in _as_list(entities.get("mentions"))
        if isinstance(m, dict) and isinstance(m.get("username"), str)
    )
    urls = tuple(
        {
            "url": u["url"],
            "expanded_url": str(u.get("expanded_url") or u["url"]),
            "display_url": str(u.get("display_url") or ""),
        }
        for u in _as_list(entities.get("urls"))
        if isinstance(u, dict) and isinstance(u.get("url"), str)
    )
    return RemotePost(
        remote_id=post_id,
        author_id=author_id,
        author_username=str(author.get("username") or ""),
        text=text,
        created_at=created_at,
        conversation_id=_id(item.get("conversation_id")) or post_id,
        in_reply_to_id=in_reply_to_id,
        in_reply_to_user_id=_id(item.get("in_reply_to_user_id")),
        mentions=mentions,
        urls=urls,
        raw=item,
    )


def parse_page(body: Any) -> PostPage:
    """Parse any v2 response carrying posts: a timeline page, a lookup, or a single post.

    Item by item: an unusable post becomes a PayloadProblem and the rest is kept. Each entry of a
    top-level `errors[]` (a 200 can carry them for missing ids, API-FACTS §3) is a problem too.
    `includes` may be absent; `data` may be absent (an empty page is `{"meta":{"result_count":0}}`,
    README), a list, or one object. Raises ConnectorError if `body` is not a JSON object.
    """
    if not isinstance(body, dict):
        raise ConnectorError("X answered with something that is not a JSON object", body=body)
    includes = _as_dict(body.get("includes"))
    users = {
        user["id"]: user
        for user in _as_list(includes.get("users"))
        if isinstance(user, dict) and isinstance(user.get("id"), str)
    }
    data = body.get("data")
    items = data if isinstance(data, list) else [data] if isinstance(data, dict) and data else []

    posts: list[RemotePost] = []
    problems: list[PayloadProblem] = []
    for item in items:
        parsed = parse_post(item, users)
        if isinstance(parsed, RemotePost):
            posts.append(parsed)
        else:
            problems.append(parsed)
    included: dict[str, RemotePost] = {}
    for item in _as_list(includes.get("tweets")) or _as_list(includes.get("posts")):
        parsed = parse_post(item, users)
        if isinstance(parsed, RemotePost):
            included[parsed.remote_id] = parsed
        else:
            problems.append(PayloadProblem(f"includes: {parsed.reason}", raw=parsed.raw))
    problems.extend(
        PayloadProblem(_problem_text(error) or "error without detail", raw=error)
        for error in _as_list(body.get("errors"))
    )
    problems = [_kept(problem) for problem in problems]

    meta = _as_dict(body.get("meta"))
    newest_id = _id(meta.get("newest_id"))
    if newest_id is None and posts:
        newest_id = max((p.remote_id for p in posts), key=int)
    next_token = meta.get("next_token")
    return PostPage(
        posts=posts,
        newest_id=newest_id,
        next_token=next_token if isinstance(next_token, str) and next_token else None,
        problems=problems,
        included=included,
    )


def parse_dm_event(item: Any) -> RemoteDm | PayloadProblem:
    """Normalise one `MessageCreate` DM event; anything without an id, a sender, a conversation,
    a time and a text (or of another event type) is a problem kept whole."""
    if not isinstance(item, dict):
        return PayloadProblem("dm event is not an object", raw=item)
    event_id, sender_id = _id(item.get("id")), _id(item.get("sender_id"))
    conversation_id, text = item.get("dm_conversation_id"), item.get("text")
    created = item.get("created_at")
    created_at = _parse_time(created) if isinstance(created, str) else None
    if item.get("event_type") != "MessageCreate":
        return PayloadProblem(f"dm event of type {item.get('event_type')!r}", raw=item)
    if event_id is None or sender_id is None or created_at is None:
        return PayloadProblem("dm event without id, sender_id or created_at", raw=item)
    if not isinstance(conversation_id, str) or not conversation_id or not isinstance(text, str):
        return PayloadProblem("dm event without dm_conversation_id or text", raw=item)
    return RemoteDm(
        remote_id=event_id,
        sender_id=sender_id,
        conversation_id=conversation_id,
        text=text,
        created_at=created_at,
        raw=item,
    )


def parse_dm_page(body: Any) -> DmPage:
    """Parse a page of GET /2/dm_events. An empty page has no `data` key (README); `errors[]`
    entries are problems. Raises ConnectorError if `body` is not a JSON object."""
    if not isinstance(body, dict):
        raise ConnectorError("X answered with something that is not a JSON object", body=body)
    events: list[RemoteDm] = []
    problems: list[PayloadProblem] = []
    for item in _as_list(body.get("data")):
        parsed = parse_dm_event(item)
        if isinstance(parsed, RemoteDm):
            events.append(parsed)
        else:
            problems.append(parsed)
    problems.extend(
        PayloadProblem(_problem_text(error) or "error without detail", raw=error)
        for error in _as_list(body.get("errors"))
    )
    problems = [_kept(problem) for problem in problems]
    ids = [i for item in _as_list(body.get("data")) if (i := _id(_as_dict(item).get("id")))]
    next_token = _as_dict(body.get("meta")).get("next_token")
    return DmPage(
        events=events,
        newest_id=max(ids, key=lambda i: (len(i), i)) if ids else None,
        next_token=next_token if isinstance(next_token, str) and next_token else None,
        problems=problems,
    )


# --- OAuth 2.0: refreshing a user access token -------------------------------------------------

TOKEN_ENDPOINT = "POST /2/oauth2/token"  # noqa: S105 - an endpoint name, not a secret


@dataclass(frozen=True)
class TokenGrant:
    """What X's token endpoint granted. The tokens never appear in a repr."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime | None
    scope: str


def token_refresh(
    *,
    base_url: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    timeout: float = 10.0,
) -> TokenGrant:
    """Trade `refresh_token` for a new pair at POST {base_url}/2/oauth2/token.

    X's refresh tokens are single-use: the answer carries the next one, and the one sent is
    spent once X has answered. A confidential client authenticates with HTTP Basic (X answers
    401 "Missing valid authorization header" without it); a public one, without a secret,
    sends `client_id` in the body
    (https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code).
    Raises Rejected (X refused: a spent or revoked refresh token, a wrong client), Unreachable
    (nothing sent), or ConnectorError (no readable answer: the refresh token may be spent).
    """
    url = f"{base_url.rstrip('/')}/2/oauth2/token"
    session = OAuth2Session(
        client_id=client_id,
        client_secret=client_secret or None,
        token_endpoint_auth_method="client_secret_basic" if client_secret else "none",
    )
    session.headers["User-Agent"] = f"mentiondesk/{__version__}"
    try:
        with session:
            token = session.refresh_token(url, refresh_token=refresh_token, timeout=timeout)
    except OAuthError as exc:
        # `error` and `error_description` only: never the request, which holds the token.
        raise Rejected(
            f"{TOKEN_ENDPOINT}: X refused the refresh ({exc.error}: {exc.description or '-'})",
            status=400,
        ) from None
    except requests.ConnectionError:  # connect timeouts included
        raise Unreachable(f"{TOKEN_ENDPOINT}: cannot reach {url_shown(base_url)}") from None
    except requests.Timeout:
        raise ConnectorError(
            f"{TOKEN_ENDPOINT}: no answer from {url_shown(base_url)} in time"
        ) from None
    except (requests.RequestException, ValueError) as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        raise ConnectorError(
            f"{TOKEN_ENDPOINT}: unreadable answer ({status or type(exc).__name__})",
            status=status,
        ) from None
    access, refresh = token.get("access_token"), token.get("refresh_token")
    if not isinstance(access, str) or not access:
        raise ConnectorError(f"{TOKEN_ENDPOINT}: the answer has no access_token")
    expires_in = token.get("expires_in")
    return TokenGrant(
        access_token=access,
        # authlib keeps the token sent when the answer has none
        refresh_token=refresh if isinstance(refresh, str) else "",
        expires_at=(
            datetime.now(UTC) + timedelta(seconds=int(expires_in))
            if isinstance(expires_in, int | float) or str(expires_in).isdigit()
            else None
        ),
        scope=str(token.get("scope") or ""),
    )


# --- The connector ------------------------------------------------------------------------------


class _AccessTokenRejected(Exception):
    """A 401 that a token refresh may cure: raised inside a turn, handled after it."""

    def __init__(self, response: httpx.Response, body: Any) -> None:
        super().__init__(response.status_code)
        self.response, self.body = response, body


_NOT_JSON = object()
# A JSON escape of U+0000 that is not itself an escaped backslash followed by "u0000".
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def json_without_nul(text: str) -> str:
    """JSON text with every U+0000 escape turned into U+FFFD: PostgreSQL stores no NUL in
    text or jsonb, so one such character in a tweet would otherwise fail its whole page."""
    return _NUL_ESCAPE.sub(r"\1\\ufffd", text) if "\\u0000" in text else text


def json_decode(content: bytes) -> Any:
    """json.loads for X's answers, read as `json_without_nul` gives them."""
    return json.loads(json_without_nul(content.decode("utf-8")))


class XConnector(ConnectorBase):
    """One OAuth 2.0 user access token against one X API v2 base URL.

    Before each call, an endpoint whose window is spent (after a 429, or `remaining` 0) raises
    RateLimited without a request until its reset; that memory is shared process-wide, and
    between processes through `rate_limits_share` (the desk's database), where processes also
    take turns: one call at a time per token and endpoint. Errors: Unreachable (nothing sent;
    also when another process's turn outlasts the timeout), RateLimited, Rejected (4xx,
    nothing happened), OutcomeUnknown (a write may have happened: timeout after sending, 5xx,
    403 duplicate content), and ConnectorError for anything else (a read's timeout or 5xx, a
    body that is not JSON).

    Every request that leaves (whatever its answer) is reported to the recorder installed with
    `recording()`: the seam of the usage meter. Calls refused locally or never sent are not.

    With `refresh`, a 401 (X's answer to an expired or revoked access token; nothing was done)
    calls `refresh(rejected_token)` once; a new token it returns is used for the same request
    again and for every later one. It returns None when there is nothing better (the 401
    stands) and raises a ConnectorError when the refresh itself failed.
    """

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        refresh: Callable[[str], str | None] | None = None,
        rate_key: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._refresh = refresh
        # X counts user-context calls per user, not per token: with `rate_key` (one per
        # handle), the windows remembered outlive the two-hourly refresh of the token.
        self._rate_key = rate_key
        # Another process's turn on an endpoint lasts one call, bounded by `timeout`.
        self._turn_wait = timeout + 1.0
        self._client = httpx.Client(
            base_url=self.base_url,
            headers={"User-Agent": f"mentiondesk/{__version__}"},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )
        self._token_use(token)

    def _token_use(self, token: str) -> None:
        self._token = token
        self._token_key = token_digest(self._rate_key or token)
        self._client.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self._client.close()

    def clock_skew(self) -> timedelta | None:
        """X's clock minus ours (module `clock_skew`) for this connector's base URL."""
        return clock_skew(base_url=self.base_url)

    # Users

    def me(self) -> RemoteUser:
        """The token's own user (GET /2/users/me)."""
        user = self._user(self._call("GET", "/2/users/me"), "GET /2/users/me")
        BOOK.me_put((self.base_url, self._token_key), user)
        return user

    def author(self) -> RemoteUser:
        """The token's own user, looked up once per process and token (GET /2/users/me)."""
        return BOOK.me_get((self.base_url, self._token_key)) or self.me()

    def user_by_username(self, username: str) -> RemoteUser:
        """GET /2/users/by/username/:username. An unknown user is a 200 with `errors[]`
        (API-FACTS §3): raised as Rejected."""
        body = self._call("GET", "/2/users/by/username/:username", path={"username": username})
        return self._user(body, "GET /2/users/by/username/:username")

    # Reads

    def mentions(
        self,
        user_id: str,
        *,
        since_id: str | None = None,
        pagination_token: str | None = None,
        max_results: int = 100,
    ) -> PostPage:
        """ONE page of GET /2/users/:id/mentions, newest first; loop on `next_token`."""
        params = self._post_params(max_results=max_results, since_id=since_id)
        if pagination_token:
            params["pagination_token"] = pagination_token
        body = self._call("GET", "/2/users/:id/mentions", path={"id": user_id}, params=params)
        return parse_page(body)

    def user_posts(
        self,
        user_id: str,
        *,
        since_id: str | None = None,
        pagination_token: str | None = None,
        max_results: int = 100,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> PostPage:
        """ONE page of GET /2/users/:id/tweets, newest first (loop on `next_token`): what we
        really posted, to reconcile a send whose outcome is unknown. `start_time` and
        `end_time` bound the posts' creation times (X: inclusive, to the second)."""
        params = self._post_params(max_results=max_results, since_id=since_id)
        if pagination_token:
            params["pagination_token"] = pagination_token
        for name, moment in (("start_time", start_time), ("end_time", end_time)):
            if moment is not None:
                params[name] = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = self._call("GET", "/2/users/:id/tweets", path={"id": user_id}, params=params)
        return parse_page(body)

    def posts_lookup(self, ids: list[str]) -> PostPage:
        """GET /2/tweets?ids=… (at most 100). Ids X cannot return come back as `problems`."""
        if not ids:
            return PostPage(posts=[])
        if len(ids) > MAX_LOOKUP_IDS:
            raise Rejected(f"GET /2/tweets: at most {MAX_LOOKUP_IDS} ids per lookup")
        params = self._post_params(max_results=None, since_id=None)
        params["ids"] = ",".join(ids)
        return parse_page(self._call("GET", "/2/tweets", params=params))

    def dm_events(self, *, pagination_token: str | None = None, max_results: int = 100) -> DmPage:
        """ONE page of GET /2/dm_events: the token user's direct messages (`MessageCreate`
        only), newest first, over every conversation; loop on `next_token`. The endpoint has
        no since_id: the caller stops paging once it reaches what it has read."""
        params: dict[str, Any] = {
            "dm_event.fields": DM_EVENT_FIELDS,
            "event_types": DM_EVENT_TYPES,
            "max_results": max_results,
        }
        if pagination_token:
            params["pagination_token"] = pagination_token
        return parse_dm_page(self._call("GET", "/2/dm_events", params=params))

    # Writes

    def post_create(self, text: str, *, in_reply_to_id: str | None = None) -> RemotePost:
        """POST /2/tweets, threaded under `in_reply_to_id` when given; expects 201
        `{"data":{"id","text"}}` (API-FACTS §4).

        The answer has no author, time or conversation, so the post is built from what we sent:
        the author is the token's user (one GET /2/users/me per process and token, before the
        POST so a failure there sends nothing), created_at is the time X wrote into the id (its
        clock, not ours: the answer must sort after the post it answers), and the conversation
        is the parent's id or the post's own (the parent's real root is unknown here). A 2xx
        without an id raises OutcomeUnknown: the post may exist.
        """
        author = self.author()
        payload: dict[str, Any] = {"text": text}
        if in_reply_to_id:
            payload["reply"] = {"in_reply_to_tweet_id": in_reply_to_id}
        body = self._call("POST", "/2/tweets", json_body=payload)
        data = _as_dict(body.get("data") if isinstance(body, dict) else None)
        post_id = _id(data.get("id"))
        if post_id is None:
            raise OutcomeUnknown("POST /2/tweets: the answer has no post id", body=body)
        return RemotePost(
            remote_id=post_id,
            author_id=author.remote_id,
            author_username=author.username,
            text=text,
            # X reports created_at to the second; ties are ordered by id, as on its timelines.
            created_at=_snowflake_time(post_id).replace(microsecond=0),
            conversation_id=in_reply_to_id or post_id,
            in_reply_to_id=in_reply_to_id,
            raw=data,
        )

    def post_delete(self, post_id: str) -> bool:
        """DELETE /2/tweets/:id; True when X says the post is deleted."""
        body = self._call("DELETE", "/2/tweets/:id", path={"id": post_id})
        return self._flag(body, "deleted", "DELETE /2/tweets/:id")

    def like(self, user_id: str, post_id: str) -> bool:
        """POST /2/users/:id/likes. `user_id` must be the token's own user (API-FACTS §4)."""
        body = self._call(
            "POST", "/2/users/:id/likes", path={"id": user_id}, json_body={"tweet_id": post_id}
        )
        return self._flag(body, "liked", "POST /2/users/:id/likes")

    def dm_send(self, participant_id: str, text: str) -> dict[str, Any]:
        """POST /2/dm_conversations/with/:participant_id/messages; returns `data`
        (`dm_conversation_id`, `dm_event_id`) of the 201 answer."""
        endpoint = "POST /2/dm_conversations/with/:participant_id/messages"
        body = self._call(
            "POST",
            "/2/dm_conversations/with/:participant_id/messages",
            path={"participant_id": participant_id},
            json_body={"text": text},
        )
        data = _as_dict(body.get("data") if isinstance(body, dict) else None)
        if not isinstance(data.get("dm_event_id"), str):
            raise OutcomeUnknown(f"{endpoint}: the answer has no dm_event_id", body=body)
        return data

    # Plumbing

    @staticmethod
    def _post_params(*, max_results: int | None, since_id: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "tweet.fields": POST_FIELDS,
            "expansions": EXPANSIONS,
            "user.fields": USER_FIELDS,
        }
        if max_results is not None:
            params["max_results"] = max_results
        if since_id:
            params["since_id"] = since_id
        return params

    @staticmethod
    def _user(body: Any, endpoint: str) -> RemoteUser:
        data = _as_dict(body.get("data") if isinstance(body, dict) else None)
        user_id, username = _id(data.get("id")), data.get("username")
        if user_id is None or not isinstance(username, str):
            raise Rejected(f"{endpoint}: {_problem_text(body) or 'no user'}", status=200, body=body)
        return RemoteUser(remote_id=user_id, username=username, name=str(data.get("name") or ""))

    @staticmethod
    def _flag(body: Any, name: str, endpoint: str) -> bool:
        value = _as_dict(body.get("data") if isinstance(body, dict) else None).get(name)
        if not isinstance(value, bool):
            raise OutcomeUnknown(f"{endpoint}: the answer has no data.{name}", body=body)
        return value

    def _call(
        self,
        method: str,
        route: str,
        *,
        path: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
        refreshed: bool = False,
    ) -> Any:
        """Send one request to `route` (":name" segments filled from `path`) and return its
        decoded JSON body, or raise the error that says what may have happened."""
        endpoint = f"{method} {route}"
        key = (self.base_url, self._token_key, endpoint)
        # The window is read, the request sent and its answer's window written in one turn:
        # a call never leaves while another's 429 for the same token and endpoint is on its
        # way back.
        try:
            with BOOK.turn(key, self._turn_wait):
                known = BOOK.get(key)
                blocked_until = known.blocked_until(datetime.now(UTC)) if known else None
                if blocked_until is not None:
                    raise RateLimited(
                        f"{endpoint}: rate limited until {blocked_until:%H:%M:%S} UTC (not sent)",
                        reset_at=blocked_until,
                    )
                return self._send(
                    method, route, key, path, params, json_body, may_refresh=not refreshed
                )
        except _AccessTokenRejected as rejected:
            # Outside the turn: the token endpoint and the second try take turns of their own.
            token = self._refresh(self._token) if self._refresh else None
            if token is not None and token != self._token:
                self._token_use(token)
                return self._call(
                    method, route, path=path, params=params, json_body=json_body, refreshed=True
                )
            return self._answer(
                endpoint, key, rejected.response, rejected.body, write=method != "GET"
            )

    def _send(
        self,
        method: str,
        route: str,
        key: tuple[str, str, str],
        path: dict[str, str] | None,
        params: dict[str, Any] | None,
        json_body: dict[str, Any] | None,
        *,
        may_refresh: bool,
    ) -> Any:
        endpoint = key[2]
        write = method != "GET"
        url = route
        for name, value in (path or {}).items():
            url = url.replace(f":{name}", quote(value, safe=""))
        sent_at = datetime.now(UTC)
        try:
            response = self._client.request(method, url, params=params, json=json_body)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            shown = url_shown(self.base_url, str(exc))
            raise Unreachable(
                f"{endpoint}: cannot reach {url_shown(self.base_url)} ({shown})"
            ) from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            shown = url_shown(self.base_url, str(exc))
            raise Unreachable(
                f"{endpoint}: bad X API URL {url_shown(self.base_url)} ({shown})"
            ) from exc
        except httpx.TransportError as exc:
            # The request left: a read timeout or a dropped connection says nothing about
            # whether X acted on it.
            self._report(CallReport(endpoint, None, sent=json_body))
            error = OutcomeUnknown if write else ConnectorError
            shown = url_shown(self.base_url, str(exc))
            raise error(f"{endpoint}: no answer ({type(exc).__name__}: {shown})") from exc
        skew = clock_skew_measure(response.headers, sent_at=sent_at, received_at=datetime.now(UTC))
        if skew is not None:
            BOOK.skew_put(self.base_url, skew)
        body: Any
        try:
            body = json_decode(response.content) if response.content else None
        except ValueError:
            body = _NOT_JSON
        self._report(
            CallReport(
                endpoint,
                response.status_code,
                body=None if body is _NOT_JSON else body,
                sent=json_body,
            )
        )
        if response.status_code == 401 and self._refresh is not None and may_refresh:
            raise _AccessTokenRejected(response, body)
        return self._answer(endpoint, key, response, body, write=write)

    def _answer(
        self,
        endpoint: str,
        key: tuple[str, str, str],
        response: httpx.Response,
        body: Any,
        *,
        write: bool,
    ) -> Any:
        status = response.status_code
        shown = response.text[:200] if body is _NOT_JSON else body
        window = self._remember(key, response.headers, status)

        if status == 429:
            # Two body shapes exist: the problem object and the older {"errors":[{"code":88}]}
            # (API-FACTS §3); the status alone decides.
            reset_at = window.reset_at if window else None
            raise RateLimited(
                f"{endpoint}: {_problem_text(shown) or 'Too Many Requests'}",
                reset_at=reset_at or datetime.now(UTC) + DEFAULT_RESET_WAIT,
                status=status,
                body=shown,
            )
        if status >= 500:
            error = OutcomeUnknown if write else ConnectorError
            raise error(f"{endpoint}: X answered {status}", status=status, body=shown)
        if status >= 400:
            detail = _problem_text(shown) or response.reason_phrase
            if status == 403 and _is_duplicate(shown):
                # A double submit: the first POST probably succeeded (API-FACTS §3).
                raise OutcomeUnknown(f"{endpoint}: {detail}", status=status, body=shown)
            if status == 403 and _is_reply_not_summoned(shown):
                raise Rejected(
                    f"{endpoint}: 403 {SELF_SERVE_REPLY_RULE[0].upper()}"
                    f"{SELF_SERVE_REPLY_RULE[1:]} (X: “{detail}”). Send it from a handle the "
                    'post mentions, or set x_plan = "enterprise" if the desk is on such a plan.',
                    status=status,
                    body=shown,
                )
            raise Rejected(f"{endpoint}: {status} {detail}", status=status, body=shown)
        if status >= 300 or body is _NOT_JSON or body is None:
            error = OutcomeUnknown if write else ConnectorError
            raise error(
                f"{endpoint}: unexpected answer {status} {str(shown)[:100]!r}",
                status=status,
                body=shown,
            )
        return body

    @staticmethod
    def _remember(
        key: tuple[str, str, str], headers: httpx.Headers, status: int
    ) -> RateLimitStatus | None:
        """Store the window from `x-rate-limit-*` (reset is epoch seconds, API-FACTS §2). On a
        429, the window is spent; if a 24-hour cap is the one spent, its reset is the later."""

        def number(name: str) -> int | None:
            value = headers.get(name, "")
            return int(value) if value.strip().isdigit() else None

        limit, remaining, reset = (
            number(f"x-rate-limit-{n}") for n in ("limit", "remaining", "reset")
        )
        if status == 429:
            remaining = 0
            for cap in ("x-user-limit-24hour", "x-app-limit-24hour"):
                cap_reset = number(f"{cap}-reset")
                if number(f"{cap}-remaining") == 0 and cap_reset:
                    reset = max(reset or 0, cap_reset)
            if reset is None:
                reset = int((datetime.now(UTC) + DEFAULT_RESET_WAIT).timestamp())
        elif limit is None and remaining is None and reset is None:
            return None
        reset_at = datetime.fromtimestamp(reset, UTC) if reset else None
        skew = BOOK.skew_get(key[0])
        if reset_at is not None and skew:
            reset_at -= skew  # X announces the reset on its clock: the wait is on ours
        window = RateLimitStatus(limit=limit, remaining=remaining, reset_at=reset_at)
        BOOK.put(key, window)
        return window


# API-FACTS §4: pay-per-use self-serve plans refuse an API reply unless the author of the
# post replied to summoned the replying account; X answers 403 with the problem shape of
# API-FACTS §3 (the sandbox's REPLY_NOT_SUMMONED is the detail as reported publicly).
SELF_SERVE_REPLY_RULE = (
    "on X's self-serve plan (policy x_plan) X refuses API replies from accounts the post "
    "does not mention"
)


def _is_reply_not_summoned(body: Any) -> bool:
    """403 for a reply the self-serve plan does not allow. Matched on the detail's start: its
    ending has been reported both with and without "by the author of the post ..."."""
    return "reply to this conversation is not allowed" in _problem_text(body).lower()


def _is_duplicate(body: Any) -> bool:
    """403 duplicate content (v2 problem detail), or v1.1-style code 187 "Status is a duplicate"."""
    if "duplicate content" in _problem_text(body).lower():
        return True
    errors = _as_list(body.get("errors")) if isinstance(body, dict) else []
    return any(isinstance(e, dict) and e.get("code") == 187 for e in errors)
