"""What the reports show, to whom, and the buckets their charts use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

from mentiondesk.accounts.models import User

# Response times per agent are for the people who reassign and coach: leads and admins.
REPORT_ROLES: Final = frozenset({User.Role.LEAD, User.Role.ADMIN})

# A report covers whole days; the default page shows the last 30 of them, today included.
DEFAULT_RANGE_DAYS: Final = 30
# One row per day in `volume.by_day`: a year bounds the answer and the chart.
MAX_RANGE_DAYS: Final = 366

# Nearest-rank percentiles shown for first-response times.
MEDIAN: Final = 50
P90: Final = 90

ReportFormat = Literal["table", "csv", "json"]
REPORT_FORMATS: Final[tuple[ReportFormat, ...]] = ("table", "csv", "json")


@dataclass(frozen=True)
class Bucket:
    """A half-open span of durations: `low` <= d < `high` (no `high`: no upper end)."""

    key: str
    label: str
    low: timedelta
    high: timedelta | None


def _buckets(*spans: tuple[str, str, timedelta, timedelta | None]) -> tuple[Bucket, ...]:
    return tuple(Bucket(*span) for span in spans)


_M, _H, _D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)

# First-response time, created → first response.
FIRST_RESPONSE_BUCKETS: Final = _buckets(
    ("under_15m", "under 15 min", timedelta(0), 15 * _M),
    ("15m_to_1h", "15-60 min", 15 * _M, _H),
    ("1h_to_4h", "1-4 h", _H, 4 * _H),
    ("4h_to_24h", "4-24 h", 4 * _H, _D),
    ("24h_or_more", "24 h or more", _D, None),
)

# Backlog age, created → now.
BACKLOG_BUCKETS: Final = _buckets(
    ("under_1h", "under 1 h", timedelta(0), _H),
    ("1h_to_4h", "1-4 h", _H, 4 * _H),
    ("4h_to_24h", "4-24 h", 4 * _H, _D),
    ("1d_to_3d", "1-3 days", _D, 3 * _D),
    ("3d_to_7d", "3-7 days", 3 * _D, 7 * _D),
    ("7d_or_more", "7 days or more", 7 * _D, None),
)
