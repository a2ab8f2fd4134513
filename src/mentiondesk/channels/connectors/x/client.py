"""X API v2 connector: vendor I/O only, over httpx.

Every method returns the dataclasses of `base.py` and raises only `base.py` errors. The base URL
is configurable, so the same code talks to api.x.com, to a gateway, or to the local sandbox
(`mentiondesk.sandbox`). Facts cited as "API-FACTS §n" are in
`shared/fixtures/x-api-v2/API-FACTS.md`; "README" is the fixtures README beside it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from mentiondesk import __version__
from mentiondesk.channels.connectors.base import (
    CallReport,
    ConnectorBase,
    ConnectorError,
    DmPage,
    OutcomeUnknown,
    PostPage,
    RateLimited,
    Rejected,
    RemotePost,
    RemoteUser,
    Unreachable,
)
from mentiondesk.channels.connectors.payload import (
    as_dict,
    clock_skew_measure,
    digits_id,
    header_number,
)
from mentiondesk.channels.connectors.ratelimits import (
    BOOK,
    RateLimitStatus,
    rate_limit_check,
    rate_limit_remember,
    token_digest,
)

from .parse import (
    SELF_SERVE_REPLY_RULE,
    is_duplicate,
    is_reply_not_summoned,
    json_decode,
    parse_dm_page,
    parse_page,
    problem_text,
    snowflake_time,
    url_shown,
)

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


def clock_skew(*, base_url: str) -> timedelta | None:
    """X's clock minus ours, in whole seconds, as the latest response from `base_url` in this
    process measured it (`clock_skew_measure`); None before the first response with a Date."""
    return BOOK.skew_get(base_url.rstrip("/"))


class _AccessTokenRejected(Exception):
    """A 401 that a token refresh may cure: raised inside a turn, handled after it."""

    def __init__(self, response: httpx.Response, body: Any) -> None:
        super().__init__(response.status_code)
        self.response, self.body = response, body


_NOT_JSON = object()


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
        data = as_dict(body.get("data") if isinstance(body, dict) else None)
        post_id = digits_id(data.get("id"))
        if post_id is None:
            raise OutcomeUnknown("POST /2/tweets: the answer has no post id", body=body)
        return RemotePost(
            remote_id=post_id,
            author_id=author.remote_id,
            author_username=author.username,
            text=text,
            # X reports created_at to the second; ties are ordered by id, as on its timelines.
            created_at=snowflake_time(post_id).replace(microsecond=0),
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
        data = as_dict(body.get("data") if isinstance(body, dict) else None)
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
        data = as_dict(body.get("data") if isinstance(body, dict) else None)
        user_id, username = digits_id(data.get("id")), data.get("username")
        if user_id is None or not isinstance(username, str):
            raise Rejected(f"{endpoint}: {problem_text(body) or 'no user'}", status=200, body=body)
        return RemoteUser(remote_id=user_id, username=username, name=str(data.get("name") or ""))

    @staticmethod
    def _flag(body: Any, name: str, endpoint: str) -> bool:
        value = as_dict(body.get("data") if isinstance(body, dict) else None).get(name)
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
                rate_limit_check(key, endpoint=endpoint)
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
                f"{endpoint}: {problem_text(shown) or 'Too Many Requests'}",
                reset_at=reset_at or datetime.now(UTC) + DEFAULT_RESET_WAIT,
                status=status,
                body=shown,
            )
        if status >= 500:
            error = OutcomeUnknown if write else ConnectorError
            raise error(f"{endpoint}: X answered {status}", status=status, body=shown)
        if status >= 400:
            detail = problem_text(shown) or response.reason_phrase
            if status == 403 and is_duplicate(shown):
                # A double submit: the first POST probably succeeded (API-FACTS §3).
                raise OutcomeUnknown(f"{endpoint}: {detail}", status=status, body=shown)
            if status == 403 and is_reply_not_summoned(shown):
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

        limit, remaining, reset = (
            header_number(headers, f"x-rate-limit-{n}") for n in ("limit", "remaining", "reset")
        )
        if status == 429:
            remaining = 0
            for cap in ("x-user-limit-24hour", "x-app-limit-24hour"):
                cap_reset = header_number(headers, f"{cap}-reset")
                if header_number(headers, f"{cap}-remaining") == 0 and cap_reset:
                    reset = max(reset or 0, cap_reset)
            if reset is None:
                reset = int((datetime.now(UTC) + DEFAULT_RESET_WAIT).timestamp())
        elif limit is None and remaining is None and reset is None:
            return None
        # X announces the reset on its clock (epoch seconds): rate_limit_remember moves it to ours.
        reset_at = datetime.fromtimestamp(reset, UTC) if reset else None
        return rate_limit_remember(key, limit=limit, remaining=remaining, reset_at=reset_at)
