"""Shared vendor I/O for the evidence connectors (statuspage, issuetracker, forum, helpdesk; the
evidence services above them call those): a GET for JSON through httpx with a timeout,
with every way it can fail turned into EvidenceError, whose `detail` is a sentence for the
evidence panel. No database.

Rate limits: a 429's Retry-After is either delay-seconds or an HTTP-date
(https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3); both are read, and a missing or
unreadable one counts as DEFAULT_RETRY_AFTER_SECONDS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

USER_AGENT = "mentiondesk-evidence/0.1"
DEFAULT_RETRY_AFTER_SECONDS = 60.0
# A Retry-After beyond an hour is more likely a misconfigured proxy than a real limit.
MAX_RETRY_AFTER_SECONDS = 3600.0
# Below this, a request cannot usefully start: the budget counts as spent.
MIN_REQUEST_SECONDS = 0.05


class EvidenceError(Exception):
    """A look-up failed. `detail` is written for the person reading the panel ("timed out
    after 3 s"); `retry_after` is set when the source rate limited us: seconds before it may
    be asked again."""

    def __init__(
        self, detail: str, *, retry_after: float | None = None, is_timeout: bool = False
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after
        self.is_timeout = is_timeout


class BudgetSpent(Exception):
    """The time allowed for evidence ran out before this source was asked."""


@dataclass(frozen=True)
class Deadline:
    """When the evidence look-ups must be done by (time.monotonic()), out of `budget` seconds."""

    at: float
    budget: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(at=time.monotonic() + seconds, budget=seconds)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.remaining() < MIN_REQUEST_SECONDS

    def timeout(self, per_request: float) -> float:
        """The timeout for the next request: the source's own, or what is left if less.
        Raises BudgetSpent when nothing useful is left."""
        remaining = self.remaining()
        if remaining < MIN_REQUEST_SECONDS:
            raise BudgetSpent(f"skipped: the evidence time budget ({self.budget:.2g} s) was spent")
        return min(per_request, remaining)


def timed_out(timeout: float) -> EvidenceError:
    return EvidenceError(f"timed out after {timeout:.2g} s", is_timeout=True)


def rate_limited(headers: Any, *, fallback: float | None = None) -> EvidenceError:
    """A 429: wait for Retry-After, else `fallback` (a wait the body gave), else the default."""
    value = _header(headers, "Retry-After")
    if not (value or "").strip() and fallback is not None:
        value = str(fallback)
    return EvidenceError("rate limited (HTTP 429)", retry_after=retry_after_seconds(value))


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float:
    """Seconds to wait from a Retry-After value, clamped to [0, MAX_RETRY_AFTER_SECONDS]."""
    if not value or not value.strip():
        return DEFAULT_RETRY_AFTER_SECONDS
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return DEFAULT_RETRY_AFTER_SECONDS
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return DEFAULT_RETRY_AFTER_SECONDS
    return min(MAX_RETRY_AFTER_SECONDS, max(0.0, seconds))


def get_json(
    url: str,
    *,
    timeout: float,
    params: dict[str, str | int] | None = None,
    auth: tuple[str, str] | None = None,
    auth_hint: str = "",
) -> Any:
    """GET `url` and return its JSON body.

    Raises EvidenceError: timed out, unreachable, HTTP 429 (with retry_after), 401/403 (with
    `auth_hint`, which names the settings to check), any other non-2xx, or a body that is not
    JSON. No retries: the panel shows the error, and the caller pauses the source."""
    try:
        with httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        ) as client:
            response = client.get(url, params=params, auth=auth)
    except httpx.TimeoutException:
        raise timed_out(timeout) from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise EvidenceError(f"unreachable ({describe(exc)})") from exc
    status = response.status_code
    if status == 429:
        raise rate_limited(response.headers, fallback=_wait_seconds(response))
    if status in (401, 403):
        hint = f"; {auth_hint}" if auth_hint else ""
        raise EvidenceError(f"refused the credentials (HTTP {status}){hint}")
    if not 200 <= status < 300:
        raise EvidenceError(f"answered HTTP {status} for {response.url.path}")
    try:
        return response.json()
    except ValueError:
        raise EvidenceError("answered malformed JSON") from None


def unexpected(what: str) -> EvidenceError:
    """For JSON that parsed but is not the documented shape."""
    return EvidenceError(f"answered an unexpected payload ({what})")


# What a network error's text means, for the panel: httpx, requests and urllib3 word them
# differently and wrap them deeply ("HTTPConnectionPool(…): Max retries exceeded … refused").
_PLAIN_REASONS = (
    ("refused", "connection refused"),
    ("name or service not known", "host not found"),
    ("nodename nor servname", "host not found"),
    ("failure in name resolution", "host not found"),
    ("getaddrinfo failed", "host not found"),
    ("remote end closed", "connection closed without an answer"),
    ("connection aborted", "connection closed without an answer"),
    ("server disconnected", "connection closed without an answer"),
    ("reset by peer", "connection reset"),
    ("certificate_verify_failed", "TLS certificate not trusted"),
)


def describe(exc: BaseException) -> str:
    """A network error in a few words: "connection refused", "host not found"…"""
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    for needle, plain in _PLAIN_REASONS:
        if needle in lowered:
            return plain
    return f"{type(exc).__name__}: {text}"[:160]


def _wait_seconds(response: httpx.Response) -> float | None:
    """Discourse also says how long to wait in its 429 body: `extras.wait_seconds`."""
    try:
        extras = response.json().get("extras")
        wait = extras.get("wait_seconds") if isinstance(extras, dict) else None
    except (ValueError, AttributeError):
        return None
    return float(wait) if isinstance(wait, int | float) else None


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return None if value is None else str(value)
