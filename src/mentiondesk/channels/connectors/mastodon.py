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
from email.utils import parsedate_to_datetime
from functools import partial
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
from mentiondesk.channels.connectors.ratelimits import BOOK, RateLimitStatus, token_digest
from mentiondesk.core.constants import POST_TIME_MAX, POST_TIME_MIN

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


# --- Parsing ------------------------------------------------------------------------------------


class _ContentText(HTMLParser):
    """Plain text of a status's HTML `content`: paragraphs become blank lines, <br> newlines.
    A link's text is kept whole (Mastodon hides part of long links in `span.invisible`, which
    is still the URL) and its href kept as a url; mention and hashtag links stay text only."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.urls: list[dict[str, str]] = []
        self._link: dict[str, Any] | None = None
        self._spans: list[str] = []
        self._paragraphs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p":
            if self._paragraphs:
                self.parts.append("\n\n")
            self._paragraphs += 1
        elif tag == "a" and self._link is None:
            classes = attributes.get("class", "").split()
            self._link = {
                "href": attributes.get("href", ""),
                "plain": "mention" in classes or "hashtag" in classes,
                "shown": [],
            }
        elif tag == "span":
            self._spans.append(attributes.get("class", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._spans:
            if "ellipsis" in self._spans.pop().split() and self._link is not None:
                self._link["shown"].append("…")
        elif tag == "a" and self._link is not None:
            link, self._link = self._link, None
            if link["href"] and not link["plain"]:
                self.urls.append(
                    {
                        "url": link["href"],
                        "expanded_url": link["href"],
                        "display_url": "".join(link["shown"]),
                    }
                )

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        hidden = any("invisible" in classes.split() for classes in self._spans)
        if self._link is not None and not hidden:
            self._link["shown"].append(data)


def content_text(html: str) -> tuple[str, tuple[dict[str, str], ...]]:
    """The plain text of a status's HTML `content` and its links ({"url", "expanded_url",
    "display_url"}, as X's entities), mentions and hashtags excluded."""
    parser = _ContentText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip(), tuple(parser.urls)


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _id(value: Any) -> str | None:
    """Mastodon ids are JSON strings of digits (README)."""
    return value if isinstance(value, str) and value.isdigit() else None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment if POST_TIME_MIN <= moment < POST_TIME_MAX else None


def thread_roots(statuses: list[Any]) -> dict[str, str]:
    """Each status id -> its conversation id, as far as `statuses` tell.

    Mastodon statuses carry no conversation id (the `/api/v1/conversations` ids are for
    direct messages only, and `GET …/:id/context` costs a call per status). So the root is
    found by walking `in_reply_to_id` through the statuses at hand: a status that replies to
    nothing is its own root; a chain that leaves them ends at the last parent named (the
    closest ancestor known), which is what `post_create` gives a reply too. The desk threads
    on this best-known root; a reply whose ancestors are all in view gets the true root."""
    parents: dict[str, str | None] = {}
    for status in statuses:
        status_id = _id(_as_dict(status).get("id"))
        if status_id is not None:
            parents[status_id] = _id(status.get("in_reply_to_id"))
    roots: dict[str, str] = {}
    for status_id in parents:
        current, seen = status_id, {status_id}
        while (parent := parents.get(current)) is not None and parent not in seen:
            seen.add(parent)
            current = parent
        roots[status_id] = current
    return roots


def parse_status(
    item: Any, *, roots: Mapping[str, str] | None = None
) -> RemotePost | PayloadProblem:
    """Normalise one Status entity. `raw` is the status as received (its `visibility`
    included: a reply mirrors it). Anything without an id, an author, a time or a content is
    a problem kept whole."""
    if not isinstance(item, dict):
        return PayloadProblem("status is not an object", raw=item)
    status_id = _id(item.get("id"))
    account = _as_dict(item.get("account"))
    author_id = _id(account.get("id"))
    # `acct` is `user@their.instance` for remote accounts: the form a reply must mention.
    author = account.get("acct") or account.get("username")
    created_at = _parse_time(item.get("created_at"))
    content = item.get("content")
    if status_id is None or author_id is None or not isinstance(author, str) or not author:
        return PayloadProblem("status without id or account", raw=item)
    if created_at is None or not isinstance(content, str):
        return PayloadProblem("status without created_at or content", raw=item)
    text, urls = content_text(content)
    mentions = tuple(
        str(m.get("acct") or m.get("username"))
        for m in item.get("mentions") or []
        if isinstance(m, dict) and (m.get("acct") or m.get("username"))
    )
    in_reply_to_id = _id(item.get("in_reply_to_id"))
    return RemotePost(
        remote_id=status_id,
        author_id=author_id,
        author_username=author,
        text=text,
        created_at=created_at,
        conversation_id=(roots or {}).get(status_id) or in_reply_to_id or status_id,
        in_reply_to_id=in_reply_to_id,
        in_reply_to_user_id=_id(item.get("in_reply_to_account_id")),
        mentions=mentions,
        urls=urls,
        raw=item,
    )


def parse_statuses(items: list[Any]) -> tuple[list[RemotePost], list[PayloadProblem]]:
    roots = thread_roots(items)
    posts: list[RemotePost] = []
    problems: list[PayloadProblem] = []
    for item in items:
        parsed = parse_status(item, roots=roots)
        if isinstance(parsed, RemotePost):
            posts.append(parsed)
        else:
            problems.append(parsed)
    return posts, problems


def parse_notifications(body: Any) -> tuple[list[RemotePost], list[PayloadProblem], str | None]:
    """The mentions in a list of Notification entities, the problems, and the newest
    notification id (the checkpoint: `since_id` pages notifications, not statuses).

    A mention whose `status` is null (deleted, or not visible to us: 39 of the 40 recorded
    from mastodon.social, README) is a problem kept whole; so is any other type."""
    if not isinstance(body, list):
        raise ConnectorError("Mastodon answered with something that is not a JSON list", body=body)
    mentions: list[dict[str, Any]] = []
    problems: list[PayloadProblem] = []
    newest: str | None = None
    for item in body:
        notification_id = _id(_as_dict(item).get("id"))
        if notification_id is not None and (newest is None or int(notification_id) > int(newest)):
            newest = notification_id
        if not isinstance(item, dict) or notification_id is None:
            problems.append(PayloadProblem("notification without id", raw=item))
        elif item.get("type") != "mention":
            problems.append(PayloadProblem(f"notification of type {item.get('type')!r}", raw=item))
        elif not isinstance(item.get("status"), dict):
            problems.append(
                PayloadProblem("mention without a status (deleted or not visible)", raw=item)
            )
        else:
            mentions.append(item)
    roots = thread_roots([item["status"] for item in mentions])
    posts: list[RemotePost] = []
    for item in mentions:
        parsed = parse_status(item["status"], roots=roots)
        if isinstance(parsed, RemotePost):
            posts.append(parsed)
        else:  # the whole notification, so nothing of it is lost
            problems.append(PayloadProblem(f"mention: {parsed.reason}", raw=item))
    return posts, problems, newest


def _next_max_id(response: requests.Response) -> str | None:
    """`max_id` of the Link header's rel="next" (README: list endpoints page through Link)."""
    url = response.links.get("next", {}).get("url", "")
    values = parse_qs(urlsplit(url).query).get("max_id") if url else None
    return values[0] if values and values[0].isdigit() else None


def _clock_skew(headers: Mapping[str, str], received_at: datetime) -> timedelta | None:
    """The instance's clock minus ours, to the second, from the answer's `Date` (a time
    within the second it names, so its middle is set against when the answer arrived)."""
    try:
        stamped = parsedate_to_datetime(headers.get("date", ""))
    except (TypeError, ValueError, IndexError):
        return None
    if stamped.tzinfo is None:
        stamped = stamped.replace(tzinfo=UTC)
    return timedelta(seconds=round((stamped - received_at).total_seconds() + 0.5))


def _reset_at(value: str | None) -> datetime | None:
    """x-ratelimit-reset is an ISO 8601 time on Mastodon (README), epoch seconds on X."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return datetime.fromtimestamp(int(value), UTC) if value.strip().isdigit() else None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- The connector ------------------------------------------------------------------------------


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
        statuses = _as_dict(_as_dict(_as_dict(body).get("configuration")).get("statuses"))
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
        next_token = _next_max_id(response)
        if pagination_token is None and isinstance(items, list):
            seen = {_as_dict(item).get("id") for item in items}
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
                account_id = _id(_as_dict(_as_dict(request).get("account")).get("id"))
                if account_id is not None and account_id not in accounts:
                    accounts.append(account_id)
            max_id = _next_max_id(response)
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
                max_id = _next_max_id(response)
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
        ids = [i for item in body if (i := _id(_as_dict(item).get("id")))]
        next_token = _next_max_id(response) if body else None
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
        return _id(_as_dict(body).get("id")) == post_id

    def like(self, user_id: str, post_id: str) -> bool:
        """POST /api/v1/statuses/:id/favourite (the favourite is the token's: `user_id` is
        accepted for the X signature only). True when the answer says `favourited`."""
        body, _ = self._call(
            "POST /api/v1/statuses/:id/favourite", lambda api: api.status_favourite(post_id)
        )
        return _as_dict(body).get("favourited") is True

    def dm_send(
        self, participant_id: str, text: str, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """A direct message: a `direct` status that mentions the participant (Mastodon has no
        other kind; GET /api/v1/accounts/:id first, for the `acct` to mention). Returns
        `dm_event_id` (the status id) and `dm_conversation_id` (its thread root, itself)."""
        endpoint = "GET /api/v1/accounts/:id"
        account, _ = self._call(endpoint, lambda api: api.account(participant_id))
        acct = _as_dict(account).get("acct")
        if not isinstance(acct, str) or not acct:
            raise Rejected(f"{endpoint}: no account {participant_id}", body=account)
        post = self.post_create(
            f"@{acct} {text}", visibility="direct", idempotency_key=idempotency_key
        )
        return {"dm_event_id": post.remote_id, "dm_conversation_id": post.conversation_id}

    # Plumbing

    @staticmethod
    def _user(body: Any, endpoint: str) -> RemoteUser:
        data = _as_dict(body)
        user_id, username = _id(data.get("id")), data.get("acct") or data.get("username")
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
            now = datetime.now(UTC)
            for bucket in buckets:
                known = BOOK.get((self.base_url, self._token_key, bucket))
                blocked_until = known.blocked_until(now) if known else None
                if blocked_until is not None:
                    raise RateLimited(
                        f"{endpoint}: rate limited until {blocked_until:%H:%M:%S} UTC (not sent)",
                        reset_at=blocked_until,
                    )
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
        skew = _clock_skew(response.headers, datetime.now(UTC))
        if skew is not None:
            BOOK.skew_put(self.base_url, skew)
        try:
            body: Any = json.loads(response.content) if response.content else None
            readable = True
        except ValueError:
            body, readable = response.text[:200], False
        self._report(CallReport(endpoint, status, body=body if readable else None, sent=sent))
        window = self._remember(key, response.headers, status)
        error_text = _as_dict(body).get("error") if readable else None
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

        def number(name: str) -> int | None:
            value = headers.get(name, "")
            return int(value) if value.strip().isdigit() else None

        limit, remaining = number("x-ratelimit-limit"), number("x-ratelimit-remaining")
        reset_at = _reset_at(headers.get("x-ratelimit-reset"))
        skew = BOOK.skew_get(key[0])
        if reset_at is not None and skew:
            reset_at -= skew
        if status == 429:
            remaining = 0
            reset_at = reset_at or datetime.now(UTC) + DEFAULT_WAIT[key[2]]
        elif limit is None and remaining is None and reset_at is None:
            return None
        window = RateLimitStatus(limit=limit, remaining=remaining, reset_at=reset_at)
        BOOK.put(key, window)
        return window


def text_limits_clear() -> None:
    """Forget the instances' remembered text limits (tests only)."""
    with _TEXT_LIMITS_LOCK:
        _TEXT_LIMITS.clear()
