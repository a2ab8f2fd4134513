"""Mastodon connector: vendor I/O only, over Mastodon.py. `client` speaks to the instance
(rate-limit buckets, errors, filtered mentions), `parse` reads its answers."""

from .client import DEFAULT_TEXT_LIMIT, VISIBILITIES, MastodonConnector, text_limits_clear
from .parse import content_text, parse_notifications, parse_status, parse_statuses, thread_roots

__all__ = [
    "DEFAULT_TEXT_LIMIT",
    "VISIBILITIES",
    "MastodonConnector",
    "content_text",
    "parse_notifications",
    "parse_status",
    "parse_statuses",
    "text_limits_clear",
    "thread_roots",
]
