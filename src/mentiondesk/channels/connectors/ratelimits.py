"""The rate-limit book every connector shares: what each endpoint's last answer said about its
window, keyed by (base URL, token digest, "METHOD /route/:template"), process-wide, and between
processes through `rate_limits_share` (the desk's database, set by the channels app). Network
neutral: X, Mastodon and Bluesky calls are told apart by their base URL and endpoint. Also keeps
each token's `me()` and each base URL's latest clock skew, so a connector looks them up once."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from mentiondesk.channels.connectors.base import RateLimited, RemoteUser, Unreachable


@dataclass(frozen=True)
class RateLimitStatus:
    """What the last response of one endpoint said about its window (any field may be unknown)."""

    limit: int | None
    remaining: int | None
    reset_at: datetime | None

    def blocked_until(self, now: datetime) -> datetime | None:
        """The reset time while the window is spent (a call now would only earn another 429),
        else None."""
        if self.remaining == 0 and self.reset_at is not None and now < self.reset_at:
            return self.reset_at
        return None


class SpentWindows(Protocol):
    """Where spent windows are shared between processes (the desk keeps them in its database):
    `spent_until` answers for a key this process has not seen spent; `turn` holds the key for
    one call, so processes call an endpoint with a token one at a time (TimeoutError after
    `wait` seconds of another's turn)."""

    def spent_until(self, key: tuple[str, str, str], now: datetime) -> datetime | None: ...

    def spend(self, key: tuple[str, str, str], reset_at: datetime) -> None: ...

    def turn(self, key: tuple[str, str, str], wait: float) -> AbstractContextManager[object]: ...


class _RateLimitBook:
    """Thread-safe map (base_url, token digest, "METHOD /route/:template") -> RateLimitStatus,
    with spent windows also written to, and looked up in, `shared` when one is set. Also keeps
    each token's `me()` and each base URL's latest clock skew."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, str], RateLimitStatus] = {}
        self._me: dict[tuple[str, str], RemoteUser] = {}
        self._skews: dict[str, timedelta] = {}
        self.shared: SpentWindows | None = None

    def get(self, key: tuple[str, str, str]) -> RateLimitStatus | None:
        with self._lock:
            known = self._entries.get(key)
        now = datetime.now(UTC)
        if self.shared is not None and (known is None or known.blocked_until(now) is None):
            reset_at = self.shared.spent_until(key, now)
            if reset_at is not None:
                return RateLimitStatus(limit=None, remaining=0, reset_at=reset_at)
        return known

    def put(self, key: tuple[str, str, str], status: RateLimitStatus) -> None:
        with self._lock:
            self._entries[key] = status
        if self.shared is not None and status.remaining == 0 and status.reset_at is not None:
            self.shared.spend(key, status.reset_at)

    @contextmanager
    def turn(self, key: tuple[str, str, str], wait: float) -> Iterator[None]:
        """This process's turn on `key` when windows are shared (one call at a time per token
        and endpoint across processes); Unreachable, nothing sent, if it does not come."""
        if self.shared is None:
            yield
            return
        with ExitStack() as stack:
            try:
                stack.enter_context(self.shared.turn(key, wait))
            except TimeoutError as exc:
                raise Unreachable(
                    f"{key[2]}: another call with this token was still in flight after "
                    f"{wait:g} s (not sent)"
                ) from exc
            yield

    def me_get(self, key: tuple[str, str]) -> RemoteUser | None:
        with self._lock:
            return self._me.get(key)

    def me_put(self, key: tuple[str, str], user: RemoteUser) -> None:
        with self._lock:
            self._me[key] = user

    def skew_get(self, base_url: str) -> timedelta | None:
        with self._lock:
            return self._skews.get(base_url)

    def skew_put(self, base_url: str, skew: timedelta) -> None:
        with self._lock:
            self._skews[base_url] = skew

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._me.clear()
            self._skews.clear()


BOOK = _RateLimitBook()


def token_digest(token: str) -> str:
    # Never keep the token itself as a key: metrics and reprs may print keys.
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def rate_limit_status(*, base_url: str, token: str, endpoint: str) -> RateLimitStatus | None:
    """The remembered window of `endpoint` (e.g. "GET /2/users/:id/mentions") for this token
    (or the connector's `rate_key`), or None before the first response."""
    return BOOK.get((base_url.rstrip("/"), token_digest(token), endpoint))


def rate_limit_check(key: tuple[str, str, str], *, endpoint: str) -> None:
    """Raise RateLimited, before anything is sent, while the window of `key` is spent (after a
    429, or `remaining` 0) and not yet reset."""
    known = BOOK.get(key)
    blocked_until = known.blocked_until(datetime.now(UTC)) if known else None
    if blocked_until is not None:
        raise RateLimited(
            f"{endpoint}: rate limited until {blocked_until:%H:%M:%S} UTC (not sent)",
            reset_at=blocked_until,
        )


def rate_limit_remember(
    key: tuple[str, str, str],
    *,
    limit: int | None,
    remaining: int | None,
    reset_at: datetime | None,
) -> RateLimitStatus:
    """Store the window an answer announced for `key`. The network announces its reset on its
    own clock: the wait is on ours, so the skew last measured for the base URL is taken off."""
    skew = BOOK.skew_get(key[0])
    if reset_at is not None and skew:
        reset_at -= skew
    window = RateLimitStatus(limit=limit, remaining=remaining, reset_at=reset_at)
    BOOK.put(key, window)
    return window


def rate_limits_share(shared: SpentWindows | None) -> None:
    """Share spent windows between processes through `shared` (set by the channels app)."""
    BOOK.shared = shared


def rate_limits_clear() -> None:
    """Forget every remembered window, cached `me()` and clock skew (tests only)."""
    BOOK.clear()
