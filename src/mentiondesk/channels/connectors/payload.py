"""Reading what a network answers, alike for every connector: JSON shapes, ids of digits,
times, header numbers and the `Date` header. Pure functions: no vendor SDK, no Django."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx

from mentiondesk.core.constants import POST_TIME_MAX, POST_TIME_MIN

if TYPE_CHECKING:
    from typing_extensions import TypeIs


def as_list(value: Any) -> list[Any]:
    """A JSON list, or [] for anything else: R's jsonlite writes an empty list as `{}` (X's
    fixtures README)."""
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def digits_id(value: Any) -> str | None:
    """X's and Mastodon's ids are JSON strings of digits (their fixtures' READMEs); anything
    else is unusable."""
    return value if isinstance(value, str) and value.isdigit() else None


def time_plausible(moment: datetime | None) -> TypeIs[datetime]:
    return moment is not None and POST_TIME_MIN <= moment < POST_TIME_MAX


def time_parse(value: Any) -> datetime | None:
    """An ISO 8601 time (a "Z" suffix included) in UTC, or None when `value` is not one or
    is not a plausible post time (`core.constants.POST_TIME_RANGE`)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # year 1 with an offset east of UTC
        return None
    return moment if time_plausible(moment) else None


def json_or_none(content: bytes) -> Any:
    """The decoded JSON of `content`, or None when it is empty or not JSON."""
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None


def header_number(headers: Mapping[str, str], name: str) -> int | None:
    """A header of decimal digits (a rate-limit count or an epoch reset), else None."""
    value = headers.get(name, "")
    return int(value) if value.strip().isdigit() else None


def clock_skew_measure(
    headers: Mapping[str, str], *, sent_at: datetime, received_at: datetime
) -> timedelta | None:
    """The server's clock minus ours, from the `Date` header of a response to a request sent
    at `sent_at` and answered at `received_at` (our clock), to the second; None without a
    readable Date.

    Servers write RFC 7231 dates (X lately with "UTC" for "GMT": `Fri, 07 Oct 2022 22:43:18
    UTC`, recorded cassettes), to the second: the header says the server's time was within
    [Date, Date + 1 s) at some moment of the exchange, so its middle is set against the
    exchange's."""
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
