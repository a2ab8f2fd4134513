"""Bounds shared by every door (API, pages, command line)."""

# The furthest a list may be paged: beyond a 32-bit offset the databases overflow (SQLite
# takes 64 bits, PostgreSQL's LIMIT/OFFSET too) and nobody pages that far.
MAX_OFFSET = 2**31 - 1
