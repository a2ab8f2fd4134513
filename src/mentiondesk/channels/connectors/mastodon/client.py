"""Mastodon connector: vendor I/O only, over Mastodon.py.

Same method names, keyword arguments and return types as `XConnector`, so the desk treats both
alike. Mastodon.py builds every request (parameters, `types[]`, `id[]`, the Idempotency-Key
header, the instance's paths) and raises its errors; the answer itself is read off the wire (a
`requests` response hook), so `raw` keeps the JSON exactly as the instance sent it (Mastodon.py
would turn times into datetimes, which no JSON column stores) and one parser reads both the
recorded cassettes and the sandbox. Facts cited as "README" are in
`shared/fixtures/mastodon/README.md`; the Mastodon source cited is mastodon/mastodon 4.3+.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import requests
from mastodon import Mastodon
from mastodon.errors import MastodonError, MastodonNetworkError
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from mentiondesk import __version__
from mentiondesk.channels.connectors.base import (
    CallReport,
    ConnectorBase,
    ConnectorError,
    OutcomeUnknown,
    PayloadProblem,
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
    next_max_id,
    parse_notifications,
    parse_status,
    parse_statuses,
    ratelimit_reset,
)

logger = logging.getLogger(__name__)

# Mastodon counts every authenticated API call of an account in one bucket (300 per 5 min),
# and deletions in a bucket of their own (30 per 30 min; README: `x-ratelimit-limit: 30` on
# DELETE). The book is keyed by bucket, not by route: a 429 on one route spends them all.
BUCKET_ALL = "* /api/*"
BUCKET_DELETE = "DELETE /api/v1/statuses/:id"
DEFAULT_WAIT = {BUCKET_ALL: timedelta(minutes=5), BUCKET_DELETE: timedelta(minutes=30)}
DEFAULT_TEXT_LIMIT = 500
VISIBILITIES = ("public", "unlisted", "private", "direct")
PAGE_LIMIT = 40  # notifications, requests and account statuses: Mastodon's default page size
MAX_LOOKUP_IDS = 20  # GET /api/v1/statuses?id[]=… takes at most 20 ids

_TEXT_LIMITS: dict[str, int] = {}
_TEXT_LIMITS_LOCK = threading.Lock()


@dataclass
class _Exchange:
    response: requests.Response | None = None


class MastodonConnector(ConnectorBase):
    """One OAuth access token against one Mastodon instance (`base_url`).

    Before each call, a spent bucket (after a 429, or `x-ratelimit-remaining: 0`) raises
    RateLimited without a request until its reset; the book (`connectors.ratelimits`) is
    shared process-wide and between processes, where processes also take turns on a bucket.
    Errors: Unreachable (nothing sent), RateLimited, Rejected (4xx: nothing happened),
    OutcomeUnknown (a write may have happened: no answer after sending, 5xx), ConnectorError
    for anything else (a read's timeout or 5xx, an answer that is not JSON).

    Every request that leaves is reported to the recorder installed with `recording()`, its
    endpoint as "METHOD /api/v1/route/:template".
    """

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        timeout: float = 10.0,
        rate_key: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token_key = token_digest(rate_key or token)
        self._turn_wait = timeout + 1.0
        self._local = threading.local()
        self._session = requests.Session()
        self._session.hooks["response"].append(self._hold)
        self._api = Mastodon(
            access_token=token,
            api_base_url=self.base_url,
            # We keep the book: Mastodon.py's own "wait" would sleep in a worker.
            ratelimit_method="throw",
            request_timeout=timeout,
            session=self._session,
            version_check_mode="none",
            user_agent=f"mentiondesk/{__version__}",
        )

    def _hold(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._local.exchange.response = response

    def close(self) -> None:
        self._session.close()

    def clock_skew(self) -> timedelta | None:
        """The instance's clock minus ours, as its latest answer to this process said (None
        before the first). Rate-limit resets are announced on its clock: the wait is on ours."""
        return BOOK.skew_get(self.base_url)

    # Users and the instance

    def me(self) -> RemoteUser:
        """The token's own account (GET /api/v1/accounts/verify_credentials)."""
        endpoint = "GET /api/v1/accounts/verify_credentials"
        body, _ = self._call(endpoint, lambda api: api.account_verify_credentials())
        user = self._user(body, endpoint)
        BOOK.me_put((self.base_url, self._token_key), user)
        return user

    def author(self) -> RemoteUser:
        """The token's own account, looked up once per process and token."""
        return BOOK.me_get((self.base_url, self._token_key)) or self.me()

    def user_by_username(self, username: str) -> RemoteUser:
        """GET /api/v1/accounts/lookup?acct=… (`user` on this instance, `user@host` beyond)."""
        endpoint = "GET /api/v1/accounts/lookup"
        body, _ = self._call(endpoint, lambda api: api.account_lookup(username.lstrip("@")))
        return self._user(body, endpoint)

    def text_limit(self) -> int:
        """The instance's `configuration.statuses.max_characters` (GET /api/v2/instance),
        500 when it says none; read once per process and instance. Mastodon counts every URL
        as `characters_reserved_per_url` (23) and a remote mention as its username only."""
        with _TEXT_LIMITS_LOCK:
            known = _TEXT_LIMITS.get(self.base_url)
        if known is not None:
            return known
        body, _ = self._call("GET /api/v2/instance", lambda api: api.instance_v2())
        statuses = as_dict(as_dict(as_dict(body).get("configuration")).get("statuses"))
        limit = statuses.get("max_characters")
        value = limit if isinstance(limit, int) and limit > 0 else DEFAULT_TEXT_LIMIT
        with _TEXT_LIMITS_LOCK:
            _TEXT_LIMITS[self.base_url] = value
        return value

    # Reads

    def mentions(
        self,
        user_id: str,
        *,
        since_id: str | None = None,
        pagination_token: str | None = None,
        max_results: int = 100,
    ) -> PostPage:
        """ONE page of mention notifications, newest first; loop on `next_token`.

        `user_id` must be the token's own account (notifications are the token's); ids and
        `newest_id` are notification ids (the checkpoint), posts are their statuses.

        Mastodon 4.3+ holds back mentions its notification policy filters (accounts the
        handle does not follow, private mentions from strangers…) as notification requests,
        one per account, and leaves them out of GET /api/v1/notifications. So the first page
        (no `pagination_token`) also lists GET /api/v1/notifications/requests and reads each
        requesting account's mentions with GET /api/v1/notifications?account_id=…: Mastodon
        drops its `filtered = false` condition when `account_id` is given
        (Notification.browserable), so filtered mentions are read WITHOUT accepting the
        request. Nothing changes on the instance: the handle's owner still sees the requests
        in the Mastodon app, and the desk never widens the handle's policy. Filtered
        notifications share the ids of the main list, so one checkpoint covers both.
        """
        limit = min(max_results, PAGE_LIMIT)
        endpoint = "GET /api/v1/notifications"
        body, response = self._call(
            endpoint,
            lambda api: api.notifications(
                types=["mention"], since_id=since_id, max_id=pagination_token, limit=limit
            ),
        )
        items = list(body) if isinstance(body, list) else body
        next_token = next_max_id(response)
        if pagination_token is None and isinstance(items, list):
            seen = {as_dict(item).get("id") for item in items}
            items.extend(i for i in self._filtered_mentions(since_id) if i.get("id") not in seen)
        posts, problems, newest = parse_notifications(items)
        return PostPage(
            posts=posts,
            newest_id=newest,
            next_token=next_token if body else None,
            problems=problems,
        )

    def _filtered_mentions(self, since_id: str | None) -> list[dict[str, Any]]:
        """Every mention notification held in a notification request, newer than
        `since_id`: all request pages, and all pages of each account's notifications (one
        call, plus one per requesting account, when nothing is pending beyond a page). An
        instance older than 4.3 answers 404: it filters nothing, so there is nothing held."""
        found: list[dict[str, Any]] = []
        accounts: list[str] = []
        max_id: str | None = None
        while True:
            try:
                body, response = self._call(
                    "GET /api/v1/notifications/requests",
                    partial(Mastodon.notification_requests, max_id=max_id, limit=PAGE_LIMIT),
                )
            except Rejected as exc:
                if exc.status != 404:
                    raise
                return found
            requests_page = body if isinstance(body, list) else []
            for request in requests_page:
                account_id = digits_id(as_dict(as_dict(request).get("account")).get("id"))
                if account_id is not None and account_id not in accounts:
                    accounts.append(account_id)
            max_id = next_max_id(response)
            if not requests_page or max_id is None:
                break
        for account_id in accounts:
            max_id = None
            while True:
                body, response = self._call(
                    "GET /api/v1/notifications",
                    partial(
                        Mastodon.notifications,
                        types=["mention"],
                        account_id=account_id,
                        since_id=since_id,
                        max_id=max_id,
                        limit=PAGE_LIMIT,
                    ),
                )
                page = (
                    [item for item in body if isinstance(item, dict)]
                    if isinstance(body, list)
                    else []
                )
                found.extend(page)
                max_id = next_max_id(response)
                if not page or max_id is None:
                    break
        return found

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
        """ONE page of GET /api/v1/accounts/:id/statuses, newest first (loop on
        `next_token`): what we really posted, to reconcile a send whose outcome is unknown.
        Mastodon has no time bounds on this route: `start_time`/`end_time` filter the page
        (inclusive), and the read stops paging once a page is older than `start_time`."""
        body, response = self._call(
            "GET /api/v1/accounts/:id/statuses",
            lambda api: api.account_statuses(
                user_id,
                since_id=since_id,
                max_id=pagination_token,
                limit=min(max_results, PAGE_LIMIT),
            ),
        )
        if not isinstance(body, list):
            raise ConnectorError(
                "Mastodon answered with something that is not a JSON list", body=body
            )
        posts, problems = parse_statuses(body)
        ids = [i for item in body if (i := digits_id(as_dict(item).get("id")))]
        next_token = next_max_id(response) if body else None
        if start_time is not None and posts and min(p.created_at for p in posts) < start_time:
            next_token = None
        posts = [
            p
            for p in posts
            if (start_time is None or p.created_at >= start_time)
            and (end_time is None or p.created_at <= end_time)
        ]
        return PostPage(
            posts=posts,
            newest_id=max(ids, key=int) if ids else None,
            next_token=next_token,
            problems=problems,
        )

    def posts_lookup(self, ids: list[str]) -> PostPage:
        """GET /api/v1/statuses?id[]=… (Mastodon 4.3+, 20 ids per call, several calls for
        more). Ids the instance does not return come back as `problems`."""
        items: list[Any] = []
        for start in range(0, len(ids), MAX_LOOKUP_IDS):
            chunk = ids[start : start + MAX_LOOKUP_IDS]
            body, _ = self._call("GET /api/v1/statuses", partial(Mastodon.statuses, ids=chunk))
            if not isinstance(body, list):
                raise ConnectorError(
                    "Mastodon answered with something that is not a JSON list", body=body
                )
            items.extend(body)
        posts, problems = parse_statuses(items)
        found = {p.remote_id for p in posts}
        problems.extend(
            PayloadProblem(f"status {i} not found or not visible", raw={"id": i})
            for i in ids
            if i not in found
        )
        return PostPage(posts=posts, problems=problems)

    # Writes

    def post_create(
        self,
        text: str,
        *,
        in_reply_to_id: str | None = None,
        visibility: str | None = None,
        idempotency_key: str | None = None,
    ) -> RemotePost:
        """POST /api/v1/statuses, threaded under `in_reply_to_id` when given.

        `visibility` should mirror the status answered (its `raw["visibility"]`): a reply to
        a `direct` mention stays direct, or the customer's private question would be
        answered in public. None leaves the account's default. `idempotency_key` (the
        reply's stable key) goes out as `Idempotency-Key`: Mastodon returns the status
        already created with that key for an hour instead of posting again, so a retry after
        OutcomeUnknown cannot post twice. A 2xx without a status raises OutcomeUnknown."""
        if visibility is not None and visibility not in VISIBILITIES:
            raise Rejected(f"POST /api/v1/statuses: unknown visibility {visibility!r}")
        sent: dict[str, Any] = {"status": text}
        if in_reply_to_id:
            sent["in_reply_to_id"] = in_reply_to_id
        if visibility:
            sent["visibility"] = visibility
        body, _ = self._call(
            "POST /api/v1/statuses",
            lambda api: api.status_post(
                text,
                in_reply_to_id=in_reply_to_id,
                visibility=visibility,
                idempotency_key=idempotency_key,
            ),
            sent=sent,
        )
        parsed = parse_status(body)
        if not isinstance(parsed, RemotePost):
            raise OutcomeUnknown(f"POST /api/v1/statuses: {parsed.reason}", body=body)
        return parsed

    def post_delete(self, post_id: str) -> bool:
        """DELETE /api/v1/statuses/:id; True when the instance returns the deleted status."""
        body, _ = self._call("DELETE /api/v1/statuses/:id", lambda api: api.status_delete(post_id))
        return digits_id(as_dict(body).get("id")) == post_id

    def like(self, user_id: str, post_id: str) -> bool:
        """POST /api/v1/statuses/:id/favourite (the favourite is the token's: `user_id` is
        accepted for the X signature only). True when the answer says `favourited`."""
        body, _ = self._call(
            "POST /api/v1/statuses/:id/favourite", lambda api: api.status_favourite(post_id)
        )
        return as_dict(body).get("favourited") is True

    def dm_send(
        self, participant_id: str, text: str, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """A direct message: a `direct` status that mentions the participant (Mastodon has no
        other kind; GET /api/v1/accounts/:id first, for the `acct` to mention). Returns
        `dm_event_id` (the status id) and `dm_conversation_id` (its thread root, itself)."""
        endpoint = "GET /api/v1/accounts/:id"
        account, _ = self._call(endpoint, lambda api: api.account(participant_id))
        acct = as_dict(account).get("acct")
        if not isinstance(acct, str) or not acct:
            raise Rejected(f"{endpoint}: no account {participant_id}", body=account)
        post = self.post_create(
            f"@{acct} {text}", visibility="direct", idempotency_key=idempotency_key
        )
        return {"dm_event_id": post.remote_id, "dm_conversation_id": post.conversation_id}

    # Plumbing

    @staticmethod
    def _user(body: Any, endpoint: str) -> RemoteUser:
        data = as_dict(body)
        user_id, username = digits_id(data.get("id")), data.get("acct") or data.get("username")
        if user_id is None or not isinstance(username, str):
            raise Rejected(f"{endpoint}: no account in the answer", status=200, body=body)
        return RemoteUser(
            remote_id=user_id, username=username, name=str(data.get("display_name") or "")
        )

    def _call(
        self,
        endpoint: str,
        send: Callable[[Mastodon], object],
        *,
        sent: dict[str, Any] | None = None,
    ) -> tuple[Any, requests.Response]:
        """Make one request through Mastodon.py (`send`) and return its decoded JSON body and
        response, or raise the error that says what may have happened."""
        method = endpoint.split(" ", 1)[0]
        buckets = [BUCKET_ALL] + ([BUCKET_DELETE] if endpoint == BUCKET_DELETE else [])
        key = (self.base_url, self._token_key, buckets[-1])
        with BOOK.turn(key, self._turn_wait):
            for bucket in buckets:
                rate_limit_check((self.base_url, self._token_key, bucket), endpoint=endpoint)
            exchange = self._local.exchange = _Exchange()
            try:
                send(self._api)
            except MastodonNetworkError as exc:
                if exchange.response is None:
                    self._unanswered(endpoint, exc, sent=sent, write=method != "GET")
            except MastodonError:
                if exchange.response is None:  # refused by Mastodon.py before sending
                    raise Rejected(f"{endpoint}: not sent (invalid request)") from None
            response = exchange.response
            assert response is not None  # noqa: S101 - the hook ran for the answer
            return self._answer(endpoint, key, response, sent=sent, write=method != "GET"), response

    def _unanswered(
        self, endpoint: str, exc: MastodonNetworkError, *, sent: dict[str, Any] | None, write: bool
    ) -> None:
        cause = exc.__context__
        reason = (
            cause.args[0] if isinstance(cause, requests.ConnectionError) and cause.args else None
        )
        refused = isinstance(cause, requests.ConnectTimeout) or (
            isinstance(reason, MaxRetryError) and isinstance(reason.reason, ConnectTimeoutError)
        )
        if refused:  # NewConnectionError is a ConnectTimeoutError: nothing left
            raise Unreachable(f"{endpoint}: cannot reach {self.base_url} ({cause})") from exc
        # The request left: a read timeout or a dropped connection says nothing about whether
        # the instance acted on it.
        self._report(CallReport(endpoint, None, sent=sent))
        error = OutcomeUnknown if write else ConnectorError
        raise error(f"{endpoint}: no answer ({type(cause).__name__})") from exc

    def _answer(
        self,
        endpoint: str,
        key: tuple[str, str, str],
        response: requests.Response,
        *,
        sent: dict[str, Any] | None,
        write: bool,
    ) -> Any:
        status = response.status_code
        # Set against when the answer arrived (the send time is Mastodon.py's).
        received_at = datetime.now(UTC)
        skew = clock_skew_measure(response.headers, sent_at=received_at, received_at=received_at)
        if skew is not None:
            BOOK.skew_put(self.base_url, skew)
        try:
            body: Any = json.loads(response.content) if response.content else None
            readable = True
        except ValueError:
            body, readable = response.text[:200], False
        self._report(CallReport(endpoint, status, body=body if readable else None, sent=sent))
        window = self._remember(key, response.headers, status)
        error_text = as_dict(body).get("error") if readable else None
        detail = error_text if isinstance(error_text, str) else response.reason
        if status == 429:
            reset_at = window.reset_at if window else None
            raise RateLimited(
                f"{endpoint}: {detail or 'Too Many Requests'}",
                reset_at=reset_at or datetime.now(UTC) + DEFAULT_WAIT[key[2]],
                status=status,
                body=body,
            )
        if status >= 500:
            error = OutcomeUnknown if write else ConnectorError
            raise error(f"{endpoint}: Mastodon answered {status}", status=status, body=body)
        if status >= 400:
            # Errors are {"error": "..."} in the instance's locale (README).
            raise Rejected(f"{endpoint}: {status} {detail}", status=status, body=body)
        if status >= 300 or not readable or body is None:
            error = OutcomeUnknown if write else ConnectorError
            raise error(f"{endpoint}: unexpected answer {status}", status=status, body=body)
        return body

    @staticmethod
    def _remember(
        key: tuple[str, str, str], headers: Mapping[str, str], status: int
    ) -> RateLimitStatus | None:
        """Store the bucket's window from `x-ratelimit-*` (reset: an ISO time, README); on a
        429 the bucket is spent, until the reset or one default window."""

        limit = header_number(headers, "x-ratelimit-limit")
        remaining = header_number(headers, "x-ratelimit-remaining")
        reset_at = ratelimit_reset(headers.get("x-ratelimit-reset"))
        if status == 429:
            remaining = 0
            reset_at = reset_at or datetime.now(UTC) + DEFAULT_WAIT[key[2]]
        elif limit is None and remaining is None and reset_at is None:
            return None
        return rate_limit_remember(key, limit=limit, remaining=remaining, reset_at=reset_at)


def text_limits_clear() -> None:
    """Forget the instances' remembered text limits (tests only)."""
    with _TEXT_LIMITS_LOCK:
        _TEXT_LIMITS.clear()
