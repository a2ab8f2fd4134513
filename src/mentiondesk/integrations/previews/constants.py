from __future__ import annotations

from datetime import timedelta

# A stored preview, whatever its status, is reused this long before the link is fetched again.
CACHE_FOR = timedelta(days=1)
# Longer URLs are refused: they are the cache key, and no short link expands to one.
MAX_URL_CHARS = 2048
MAX_TITLE_CHARS = 300
MAX_DESCRIPTION_CHARS = 1000
