"""The sandbox network's state: users, tokens, posts, likes, DMs, injected faults, the request
log and per-user rate-limit windows. In memory; one lock guards every read and write (the
faults, sandbox/base.py's `Faults`, keep their own), so the threaded server, a script player
and test code can share one store.

Posts are kept in the X API v2 shape (what `GET /2/tweets/:id` would return with every field
the desk asks for); callers get copies.
"""

from __future__ import annotations

import copy
import math
import re
import secrets
import string
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from mentiondesk.sandbox.base import Fault, Faults

# X ids are snowflakes: milliseconds since this epoch, shifted left by 22 bits (19 digits today).
SNOWFLAKE_EPOCH_MS = 1288834974657
# Per user and per 15-minute window. Values observed in the recorded cassettes where there is
# one, else the launch-era docs (API-FACTS §2). Read by the client from headers, never assumed.
DEFAULT_RATE_LIMITS: dict[str, int] = {
    "GET /2/users/me": 75,
    "GET /2/users/by/username/:username": 300,
    "GET /2/users/:id/mentions": 450,
    "GET /2/users/:id/tweets": 1500,
    "GET /2/tweets": 300,
    "GET /2/tweets/:id": 300,
    "POST /2/tweets": 200,
    "DELETE /2/tweets/:id": 50,
    "POST /2/users/:id/likes": 50,
    "DELETE /2/users/:id/likes/:tweet_id": 50,
    "POST /2/dm_conversations/with/:participant_id/messages": 200,
    "GET /2/dm_events": 300,
}
RATE_LIMIT_WINDOW_SECONDS = 15 * 60
FAULT_KINDS = ("status", "timeout_after_accept", "drop")
DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
# The v1.1 code 385 message (reported in node-twitter-api-v2#366), in the v2 problem shape.
REPLY_TARGET_GONE = "You attempted to reply to a Tweet that is deleted or not visible to you."
# API-FACTS §4 gives the self-serve rule but not X's answer; this 403 detail (in the §3
# problem shape) is the one reported verbatim in public client code and issue threads, 2026.
REPLY_NOT_SUMMONED = (
    "Reply to this conversation is not allowed because you have not been mentioned or "
    "otherwise engaged by the author of the post you are replying to."
)
# The X API plans the sandbox can play (`x_plan`): self-serve enforces REPLY_NOT_SUMMONED.
X_PLANS = ("self_serve", "enterprise")
# OAuth 2.0 user access tokens last two hours; the scopes a desk asks for.
ACCESS_TOKEN_LIFETIME = 7200
DESK_SCOPE = "tweet.read tweet.write users.read like.write dm.read dm.write offline.access"

_MENTION = re.compile(r"(?<![\w@])@(\w{1,15})\b", re.ASCII)
# A link ends before whitespace; trailing punctuation belongs to the sentence, as on X.
_URL = re.compile(r"https?://\S+?(?=[.,;:!?'\")\]]*(?:\s|$))")
_TCO_ALPHABET = string.ascii_letters + string.digits


class OAuthRefused(Exception):
    """The token endpoint says no: `status` and X's {"error", "error_description"} body."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


class Refused(Exception):
    """The network says no to a write; `status` and `detail` go into a problem body."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class LoggedRequest(NamedTuple):
    method: str
    path: str
    at: float  # epoch seconds


class RateWindow(NamedTuple):
    limit: int
    remaining: int
    reset: int  # epoch seconds, as X sends it
    allowed: bool


def x_time(moment: datetime) -> str:
    """X's timestamp format: `2026-11-24T23:55:15.000Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _created_within(post: dict[str, Any], start_time: str | None, end_time: str | None) -> bool:
    # x_time strings of one format: their order is the order of time.
    created = post["created_at"]
    return (start_time is None or created >= start_time) and (
        end_time is None or created <= end_time
    )


def _display_url(url: str) -> str:
    shown = url.split("://", 1)[-1].removeprefix("www.")
    return shown if len(shown) <= 26 else shown[:25] + "…"


def _as_sent(post: dict[str, Any]) -> str:
    """The text as its author wrote it: t.co links turned back into the links they wrap."""
    text = str(post["text"])
    for url in post.get("entities", {}).get("urls", []):
        text = text.replace(url["url"], url["expanded_url"], 1)
    return text


class SandboxStore:
    """A small X network. `rate_limits` overrides DEFAULT_RATE_LIMITS per "METHOD /route".

    `clock_offset` sets the network's clock that far from the machine's (X's servers and a
    desk's never quite agree): posts, DMs and their ids are stamped, and the HTTP `Date`
    header written, on the network's clock (`now()`). Rate-limit windows and token expiry run
    on the machine's. Kept across `reset()`, like the rate limits; `clock_set` changes it.

    `x_plan` is the API plan the desk's app is on: "self_serve" (X's default, like the
    desk's) refuses a reply whose target's author did not summon the replier (API-FACTS §4);
    "enterprise" does not. Kept across `reset()`; `plan_set` changes it."""

    def __init__(
        self,
        *,
        rate_limits: Mapping[str, int] | None = None,
        window: float = RATE_LIMIT_WINDOW_SECONDS,
        clock_offset: timedelta = timedelta(0),
        x_plan: str = "self_serve",
    ) -> None:
        self._lock = threading.RLock()
        self.rate_limits = {**DEFAULT_RATE_LIMITS, **(rate_limits or {})}
        self.window = window
        self.clock_offset = clock_offset
        self.plan_set(x_plan)
        # The app takes a request's fault here (`faults.take`); tests add them by `fault_add`.
        self.faults = Faults(FAULT_KINDS)
        self.reset()

    def plan_set(self, x_plan: str) -> None:
        """Play the X API plan `x_plan` (one of X_PLANS); ValueError for any other."""
        if x_plan not in X_PLANS:
            raise ValueError(f"x_plan must be one of {', '.join(X_PLANS)}, not {x_plan!r}")
        with self._lock:
            self.x_plan = x_plan

    # The network's clock

    def now(self) -> datetime:
        """The time on the network's clock: the machine's plus `clock_offset`."""
        return datetime.now(UTC) + self.clock_offset

    def clock_set(self, offset: timedelta) -> None:
        """Put the network's clock `offset` ahead of the machine's (behind when negative)."""
        with self._lock:
            self.clock_offset = offset

    def reset(self) -> None:
        """Forget everything: users, tokens, posts, likes, DMs, faults, log and windows."""
        with self._lock:
            self._users: dict[str, dict[str, str]] = {}
            self._ids_by_name: dict[str, str] = {}  # lowercased username -> user id
            self._tokens: dict[str, str] = {}  # token -> user id
            self._token_of: dict[str, str] = {}  # user id -> token
            # OAuth 2.0: client id -> secret ("" for a public client); access token ->
            # (user id, expiry epoch); refresh token -> (user id, client id, scope), single-use.
            self._clients: dict[str, str] = {}
            self._access: dict[str, tuple[str, float]] = {}
            self._refresh: dict[str, tuple[str, str, str]] = {}
            self._posts: dict[str, dict[str, Any]] = {}  # insertion order is id order
            # Lowercased username -> ids (as ints, ascending) of the posts that mention the
            # user or reply to them: a timeline page is found by bisection, not by a walk
            # from the newest post (which cost ~70 ms a deep page at 100k posts).
            self._mentions: dict[str, list[int]] = {}
            self._likes: dict[tuple[str, str], float] = {}
            self._dms: list[dict[str, Any]] = []
            self.faults.clear()
            self._log: list[LoggedRequest] = []
            self._windows: dict[tuple[str, str], tuple[float, int]] = {}
            self._last_post_id = 0
            self._last_user_id = 0

    # Ids

    def _snowflake(self, moment: datetime | None, last: int) -> int:
        # Time-ordered like X's ids, but strictly increasing in insertion order, so since_id
        # polling never misses a post added with a created_at in the past.
        at_ms = int((moment or self.now()).timestamp() * 1000)
        return max((at_ms - SNOWFLAKE_EPOCH_MS) << 22, last + 1)

    def _post_id(self, moment: datetime | None = None) -> str:
        self._last_post_id = self._snowflake(moment, self._last_post_id)
        return str(self._last_post_id)

    # Users and tokens

    def user_add(self, username: str, name: str = "", user_id: str | None = None) -> str:
        """Create a user with a fresh bearer token; returns its id. An existing username
        (case-insensitive, as on X) returns the existing id."""
        with self._lock:
            existing = self.user_by_username(username)
            if existing is not None:
                return existing["id"]
            if user_id is None:
                self._last_user_id = self._snowflake(None, self._last_user_id)
                user_id = str(self._last_user_id)
            elif not user_id.isdigit() or user_id in self._users:
                raise ValueError(f"user id {user_id!r} is not a free numeric id")
            self._users[user_id] = {"id": user_id, "name": name or username, "username": username}
            self._ids_by_name[username.lower()] = user_id
            token = secrets.token_urlsafe(24)
            self._tokens[token] = user_id
            self._token_of[user_id] = token
            return user_id

    def user_get(self, user_id: str) -> dict[str, str] | None:
        with self._lock:
            user = self._users.get(user_id)
            return dict(user) if user else None

    def user_by_username(self, username: str) -> dict[str, str] | None:
        with self._lock:
            user_id = self._ids_by_name.get(username.lower())
            return self.user_get(user_id) if user_id else None

    def users(self) -> list[dict[str, str]]:
        with self._lock:
            return [dict(u) for u in self._users.values()]

    def token_for(self, username: str) -> str:
        """The bearer token of `username`. Raises KeyError for an unknown user."""
        with self._lock:
            user = self.user_by_username(username)
            if user is None:
                raise KeyError(username)
            return self._token_of[user["id"]]

    def tokens(self) -> dict[str, str]:
        """username -> bearer token."""
        with self._lock:
            return {self._users[uid]["username"]: token for token, uid in self._tokens.items()}

    def user_for_token(self, token: str) -> dict[str, str] | None:
        """The user a bearer token speaks for; None for an unknown or expired token."""
        with self._lock:
            user_id = self._tokens.get(token)
            if user_id is None and token in self._access:
                owner, expires = self._access[token]
                user_id = owner if time.time() < expires else None
            return self.user_get(user_id) if user_id else None

    # OAuth 2.0 (authorization code flow with refresh tokens)

    def oauth_client_add(self, client_id: str, secret: str = "") -> None:
        """Register an app's OAuth 2.0 client: confidential with a `secret`, else public."""
        with self._lock:
            self._clients[client_id] = secret

    def oauth_client_secret(self, client_id: str) -> str | None:
        """The client's secret ("" when public), None for an unknown client."""
        with self._lock:
            return self._clients.get(client_id)

    def oauth_grant(
        self,
        username: str,
        client_id: str,
        *,
        scope: str = DESK_SCOPE,
        expires_in: int = ACCESS_TOKEN_LIFETIME,
    ) -> dict[str, Any]:
        """What the token endpoint answers once `username` has authorised `client_id`: a new
        access token, and a refresh token when `scope` has offline.access."""
        with self._lock:
            user = self.user_by_username(username)
            if user is None:
                raise KeyError(username)
            if client_id not in self._clients:
                raise KeyError(client_id)
            return self._token_answer(user["id"], client_id, scope, expires_in)

    def oauth_refresh(
        self, client_id: str, refresh_token: str, *, expires_in: int = ACCESS_TOKEN_LIFETIME
    ) -> dict[str, Any]:
        """Trade a refresh token (spent by this call) for a new pair. Raises OAuthRefused with
        X's body for a token that is unknown, spent, or another client's."""
        with self._lock:
            held = self._refresh.pop(refresh_token, None)
            if held is None or held[1] != client_id:
                if held is not None:
                    self._refresh[refresh_token] = held
                raise OAuthRefused(
                    400, "invalid_request", "Value passed for the token was invalid."
                )
            user_id, _, scope = held
            return self._token_answer(user_id, client_id, scope, expires_in)

    def oauth_expire(self, access_token: str) -> None:
        """Let an access token's two hours pass: X answers 401 to it from now on."""
        with self._lock:
            if access_token in self._access:
                self._access[access_token] = (self._access[access_token][0], 0.0)

    def _token_answer(
        self, user_id: str, client_id: str, scope: str, expires_in: int
    ) -> dict[str, Any]:
        access = secrets.token_urlsafe(48)
        self._access[access] = (user_id, time.time() + expires_in)
        # X's field order (docs.x.com, "OAuth 2.0 Authorization Code Flow with PKCE").
        answer: dict[str, Any] = {
            "token_type": "bearer",
            "expires_in": expires_in,
            "access_token": access,
            "scope": scope,
        }
        if "offline.access" in scope.split():
            refresh = secrets.token_urlsafe(48)
            self._refresh[refresh] = (user_id, client_id, scope)
            answer["refresh_token"] = refresh
        return answer

    # Posts

    def mention_add(
        self,
        author: str,
        text: str,
        *,
        in_reply_to: str | None = None,
        created_at: datetime | None = None,
        expanded_urls: list[str] | None = None,
    ) -> str:
        """Post `text` as `author` (a username, created if unknown) and return the post id.

        @mentions in the text become `entities.mentions`; each of `expanded_urls` is appended
        as a t.co link with its `entities.urls` entry. Raises Refused(403) if `in_reply_to`
        does not exist. No duplicate check: that is a rule of the API door (`post_create`).
        """
        with self._lock:
            author_id = self.user_add(author)
            post = self._post_build(author_id, text, in_reply_to, created_at, expanded_urls or [])
            return str(post["id"])

    def post_create(
        self, user_id: str, text: str, *, in_reply_to: str | None = None
    ) -> dict[str, Any]:
        """What `POST /2/tweets` does: refuses a text this user already posted (403 duplicate
        content, API-FACTS §3), a reply to a missing post, and on the self-serve plan a reply
        to a post whose author did not summon `user_id` (API-FACTS §4); wraps URLs in t.co
        links."""
        with self._lock:
            for post in self._posts.values():
                if post["author_id"] == user_id and _as_sent(post) == text:
                    raise Refused(403, DUPLICATE_DETAIL)
            parent = self._posts.get(in_reply_to) if in_reply_to else None
            if parent and self.x_plan == "self_serve" and not self._summoned(parent, user_id):
                raise Refused(403, REPLY_NOT_SUMMONED)
            return copy.deepcopy(self._post_build(user_id, text, in_reply_to, None, []))

    def _post_build(
        self,
        author_id: str,
        text: str,
        in_reply_to: str | None,
        created_at: datetime | None,
        expanded_urls: list[str],
    ) -> dict[str, Any]:
        parent = self._posts.get(in_reply_to) if in_reply_to else None
        if in_reply_to and parent is None:
            raise Refused(403, REPLY_TARGET_GONE)
        # X stores every link as a t.co link and keeps the original in entities.urls.
        links = [m.group(0) for m in _URL.finditer(text)] + expanded_urls
        final = _URL.sub("\0", text) + " \0" * len(expanded_urls)
        url_entities = []
        for expanded in links:
            tco = "https://t.co/" + "".join(secrets.choice(_TCO_ALPHABET) for _ in range(10))
            start = final.index("\0")
            final = final.replace("\0", tco, 1)
            url_entities.append(
                {
                    "start": start,
                    "end": start + len(tco),
                    "url": tco,
                    "expanded_url": expanded,
                    "display_url": _display_url(expanded),
                }
            )
        mentions = []
        for match in _MENTION.finditer(final):
            entity: dict[str, Any] = {
                "start": match.start(),
                "end": match.end(),
                "username": match.group(1),
            }
            mentioned = self.user_by_username(match.group(1))
            if mentioned:
                entity["id"] = mentioned["id"]
            mentions.append(entity)

        moment = created_at or self.now()
        post_id = self._post_id(created_at)
        post: dict[str, Any] = {
            "id": post_id,
            "text": final,
            "author_id": author_id,
            "created_at": x_time(moment),
            "conversation_id": parent["conversation_id"] if parent else post_id,
            "edit_history_tweet_ids": [post_id],
        }
        entities = {k: v for k, v in (("mentions", mentions), ("urls", url_entities)) if v}
        if entities:  # X leaves out `entities` when there are none
            post["entities"] = entities
        if parent:
            post["in_reply_to_user_id"] = parent["author_id"]
            post["referenced_tweets"] = [{"type": "replied_to", "id": parent["id"]}]
        self._posts[post_id] = post
        # Ids only grow (_snowflake), so appending keeps each list sorted.
        for name in self._mentioned_names(post):
            self._mentions.setdefault(name, []).append(int(post_id))
        return post

    def _summoned(self, post: dict[str, Any], user_id: str) -> bool:
        """Whether `post`'s author summoned `user_id` in it: wrote it, mentioned them or
        replied to them (a reply names whom it answers, as on X)."""
        user = self._users.get(user_id)
        return post["author_id"] == user_id or (
            user is not None and user["username"].lower() in self._mentioned_names(post)
        )

    def _mentioned_names(self, post: dict[str, Any]) -> set[str]:
        """Lowercased usernames whose mentions timeline holds `post`: those it names and the
        one it replies to (on X a reply's text starts with that @username, as in the
        academictwitteR replies)."""
        names = {m["username"].lower() for m in post.get("entities", {}).get("mentions", [])}
        replied_to = self._users.get(post.get("in_reply_to_user_id", ""))
        if replied_to:
            names.add(replied_to["username"].lower())
        return names

    def posts(self, author: str | None = None) -> list[dict[str, Any]]:
        """All posts oldest first, or those of `author` (a username)."""
        with self._lock:
            user = self.user_by_username(author) if author else None
            if author and user is None:
                return []
            return [
                copy.deepcopy(p)
                for p in self._posts.values()
                if user is None or p["author_id"] == user["id"]
            ]

    def post_get(self, post_id: str) -> dict[str, Any] | None:
        with self._lock:
            post = self._posts.get(post_id)
            return copy.deepcopy(post) if post else None

    def post_delete(self, user_id: str, post_id: str) -> bool:
        """Delete one of `user_id`'s posts; False if there is no such post. Raises Refused(403)
        for someone else's post."""
        with self._lock:
            post = self._posts.get(post_id)
            if post is None:
                return False
            if post["author_id"] != user_id:
                raise Refused(403, "You are not allowed to delete a Tweet you did not author.")
            del self._posts[post_id]
            for name in self._mentioned_names(post):
                ids = self._mentions[name]
                del ids[bisect_left(ids, int(post_id))]
            return True

    def mentions_of(
        self,
        user_id: str,
        *,
        since_id: str | None = None,
        until_id: str | None = None,
        limit: int | None = None,
        start_time: str | None = None,
        end_time: str | None = None,
    ) -> list[dict[str, Any]]:
        """Posts mentioning `user_id`, newest first, with since_id < id < until_id, created
        from `start_time` to `end_time` (x_time, inclusive), at most `limit`. A reply to the
        user counts: on X its text starts with the @username of the post it answers (as in the
        academictwitteR replies)."""
        with self._lock:
            user = self._users.get(user_id)
            ids = self._mentions.get(user["username"].lower(), []) if user else []
            start = bisect_right(ids, int(since_id)) if since_id else 0
            stop = bisect_left(ids, int(until_id)) if until_id else len(ids)
            chosen = ids[start:stop]
            if start_time or end_time:
                chosen = [
                    i for i in chosen if _created_within(self._posts[str(i)], start_time, end_time)
                ]
            if limit is not None:
                chosen = chosen[max(0, len(chosen) - limit) :]
            return [copy.deepcopy(self._posts[str(i)]) for i in reversed(chosen)]

    def posts_of(
        self,
        user_id: str,
        *,
        since_id: str | None = None,
        until_id: str | None = None,
        limit: int | None = None,
        start_time: str | None = None,
        end_time: str | None = None,
    ) -> list[dict[str, Any]]:
        """`user_id`'s posts, newest first, with since_id < id < until_id, created from
        `start_time` to `end_time` (x_time, inclusive), at most `limit`."""
        return self._newest_first(
            lambda post: (
                post["author_id"] == user_id and _created_within(post, start_time, end_time)
            ),
            since_id,
            until_id,
            limit,
        )

    def _newest_first(
        self,
        keep: Callable[[dict[str, Any]], bool],
        since_id: str | None,
        until_id: str | None,
        limit: int | None,
    ) -> list[dict[str, Any]]:
        # Posts are stored in id order, so a newest-first walk can stop at since_id: polling
        # with a checkpoint costs what is new, not the whole history.
        floor, ceiling = int(since_id or 0), int(until_id) if until_id else None
        found: list[dict[str, Any]] = []
        with self._lock:
            for post in reversed(self._posts.values()):
                post_id = int(post["id"])
                if post_id <= floor or (limit is not None and len(found) >= limit):
                    break
                if (ceiling is None or post_id < ceiling) and keep(post):
                    found.append(copy.deepcopy(post))
        return found

    # Likes and DMs

    def like_add(self, user_id: str, post_id: str) -> bool:
        """True if the post exists (liking twice is still liked)."""
        with self._lock:
            if post_id not in self._posts:
                return False
            self._likes.setdefault((user_id, post_id), time.time())
            return True

    def like_remove(self, user_id: str, post_id: str) -> None:
        with self._lock:
            self._likes.pop((user_id, post_id), None)

    def likes(self) -> list[dict[str, str]]:
        with self._lock:
            return [{"user_id": u, "tweet_id": p} for u, p in self._likes]

    def dm_add(self, sender_id: str, participant_id: str, text: str) -> dict[str, Any]:
        """Send a one-to-one DM. The conversation id is both user ids, smaller first, joined by
        "-" (API-FACTS §4). Raises Refused(400) for an unknown participant or oneself."""
        with self._lock:
            if participant_id not in self._users or participant_id == sender_id:
                raise Refused(400, f"participant_id {participant_id} cannot receive this message")
            low, high = sorted((sender_id, participant_id), key=int)
            event = {
                "id": self._post_id(),
                "event_type": "MessageCreate",
                "text": text,
                "sender_id": sender_id,
                "dm_conversation_id": f"{low}-{high}",
                "participant_ids": [low, high],
                "created_at": x_time(self.now()),
            }
            self._dms.append(event)
            return dict(event)

    def dms(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """DM events oldest first, or those of conversations `user_id` is in."""
        with self._lock:
            return [
                copy.deepcopy(e)
                for e in self._dms
                if user_id is None or user_id in e["participant_ids"]
            ]

    # Faults, request log, rate limits

    def fault_add(
        self,
        method: str,
        path_prefix: str,
        *,
        kind: str,
        status: int | None = None,
        count: int = 1,
        reset_in: float = 60,
        delay: float = 3.0,
    ) -> None:
        """Make the next `count` API requests matching `method` ("*" for any) and `path_prefix`
        fail. Kinds: "status" answers `status` with X's body for it (429 also sends
        `x-rate-limit-remaining: 0` and a reset `reset_in` seconds ahead);
        "timeout_after_accept" does the work, then waits `delay` seconds before answering (set
        it above the client's timeout); "drop" closes the connection without doing anything.
        """
        if kind == "status" and (status is None or not 400 <= status <= 599):
            raise ValueError("a status fault needs an HTTP error status (400-599)")
        self.faults.add(
            Fault(
                kind,
                count=count,
                path=path_prefix,
                method=None if method == "*" else method.upper(),
                status=status or 500,
                reset_in=reset_in,
                delay=delay,
            )
        )

    def request_record(self, method: str, path: str) -> None:
        with self._lock:
            self._log.append(LoggedRequest(method, path, time.time()))

    def request_log(self) -> list[LoggedRequest]:
        """Every API request received (not the /_sandbox/ control calls), oldest first."""
        with self._lock:
            return list(self._log)

    def rate_window(self, bucket: str, endpoint: str, *, consume: bool = True) -> RateWindow:
        """Count one call of `endpoint` ("METHOD /route") for `bucket` (a user id) in a fixed
        window; `allowed` is False once the window's limit is spent."""
        limit = self.rate_limits.get(endpoint, 300)
        now = time.time()
        with self._lock:
            started, used = self._windows.get((bucket, endpoint), (now, 0))
            if now >= started + self.window:
                started, used = now, 0
            allowed = used < limit
            if consume and allowed:
                used += 1
            self._windows[(bucket, endpoint)] = (started, used)
            # Rounded up: a reset announced before the window ends would have a client that
            # honours it refused with a 429.
            reset = math.ceil(started + self.window)
            return RateWindow(limit, max(limit - used, 0), reset, allowed)
