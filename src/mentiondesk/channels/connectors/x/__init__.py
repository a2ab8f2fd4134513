"""X API v2 connector: vendor I/O only, over httpx. `client` speaks to the API (rate limits,
errors, the token's refresh on a 401), `parse` reads its answers, `oauth` refreshes a user
access token."""

from .client import (
    DEFAULT_RESET_WAIT,
    MAX_LOOKUP_IDS,
    XConnector,
    clock_skew,
)
from .oauth import TOKEN_ENDPOINT, TokenGrant, token_refresh
from .parse import (
    SELF_SERVE_REPLY_RULE,
    json_decode,
    json_without_nul,
    parse_dm_event,
    parse_dm_page,
    parse_page,
    parse_post,
    storable,
    url_shown,
)

__all__ = [
    "DEFAULT_RESET_WAIT",
    "MAX_LOOKUP_IDS",
    "SELF_SERVE_REPLY_RULE",
    "TOKEN_ENDPOINT",
    "TokenGrant",
    "XConnector",
    "clock_skew",
    "json_decode",
    "json_without_nul",
    "parse_dm_event",
    "parse_dm_page",
    "parse_page",
    "parse_post",
    "storable",
    "token_refresh",
    "url_shown",
]
