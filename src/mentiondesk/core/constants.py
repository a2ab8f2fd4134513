"""Bounds shared by every door (API, pages, command line, ingest)."""

from datetime import UTC, datetime

# The furthest a list may be paged: beyond a 32-bit offset the databases overflow (SQLite
# takes 64 bits, PostgreSQL's LIMIT/OFFSET too) and nobody pages that far.
MAX_OFFSET = 2**31 - 1

# The largest row id (a signed 64-bit BigAutoField): a larger number reaching a query
# overflows SQLite's INTEGER, so lists of ids are bounded by it at the door.
MAX_ROW_ID = 2**63 - 1

# The times a post may carry: none of the networks existed before the Unix epoch, and a post
# dated at the ends of the calendar (year 1, year 9999) overflows the SLA clocks' arithmetic.
# Ingest and import keep a post outside [POST_TIME_MIN, POST_TIME_MAX) as a problem, raw.
POST_TIME_MIN = datetime(1970, 1, 1, tzinfo=UTC)
POST_TIME_MAX = datetime(2100, 1, 1, tzinfo=UTC)
POST_TIME_RANGE = f"from {POST_TIME_MIN.year} to {POST_TIME_MAX.year - 1}"
