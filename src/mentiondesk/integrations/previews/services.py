"""Link previews for posts: each link is fetched at most once a day, by a worker.

The fetch (`fetch.link_fetch`) runs outside any transaction: it can take
LINKS_TIMEOUT_SECONDS, and no database lock is held while a stranger's server answers. Two
workers fetching the same new link at once both store it; the row is unique per URL and the
later write wins."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from mentiondesk.channels.models import Post

from . import fetch
from .choices import PreviewStatus
from .constants import CACHE_FOR, MAX_URL_CHARS
from .models import LinkPreview

logger = logging.getLogger(__name__)


def link_target(*, url: str, expanded_url: str | None = None) -> str:
    """The URL to visit for a link: the network's `expanded_url` when present, since a t.co
    short link only redirects to it, else the link itself."""
    return (expanded_url or "").strip() or url.strip()


def link_preview_get(*, url: str, expanded_url: str | None = None) -> LinkPreview:
    """The preview of the page `url` (or the network's `expanded_url` for it) leads to.

    A stored preview younger than a day is returned as is. Otherwise the page is fetched and
    the result stored, whatever it is: refusals and failures are previews too, with status
    refused/failed and the reason in `error`; nothing about the link raises. With
    LINKS_ENABLED off, or a URL too long to be a cache key, nothing is fetched and an unsaved
    refused preview comes back."""
    target = link_target(url=url, expanded_url=expanded_url)
    cached = LinkPreview.objects.filter(
        url=target, fetched_at__gte=timezone.now() - CACHE_FOR
    ).first()
    if cached is not None:
        return cached
    if not settings.LINKS_ENABLED:
        return _unsaved_refusal(target, "link previews are off (MENTIONDESK_LINKS_ENABLED=0)")
    if len(target) > MAX_URL_CHARS:
        return _unsaved_refusal(target, f"the URL is longer than {MAX_URL_CHARS} characters")
    found = fetch.link_fetch(target)
    if found.status != PreviewStatus.OK:
        logger.info("link preview of %s: %s", target, found.error)
    preview, _ = LinkPreview.objects.update_or_create(
        url=target,
        defaults={
            "final_url": found.final_url[:MAX_URL_CHARS],
            "domain": found.domain[:255],
            "title": found.title,
            "description": found.description,
            "status": found.status,
            "error": found.error,
            "fetched_at": timezone.now(),
        },
    )
    return preview


def post_links_expand(*, post: Post) -> list[LinkPreview]:
    """The previews of every link in `post.urls` (`[{"url", "expanded_url", "display_url"}]`),
    in order and once per URL visited, each through `link_preview_get` (so fetched, stored,
    or taken from the day's cache)."""
    previews: list[LinkPreview] = []
    seen: set[str] = set()
    for url, expanded_url in post_links(post=post):
        target = link_target(url=url, expanded_url=expanded_url)
        if target and target not in seen:
            seen.add(target)
            previews.append(link_preview_get(url=url, expanded_url=expanded_url))
    return previews


def post_links(*, post: Post) -> list[tuple[str, str | None]]:
    """`(url, expanded_url)` of each well-formed entry of `post.urls`; the payload is the
    network's, so entries without a `url` string are skipped."""
    links: list[tuple[str, str | None]] = []
    for entry in post.urls if isinstance(post.urls, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            expanded = entry.get("expanded_url")
            links.append((entry["url"], expanded if isinstance(expanded, str) else None))
    return links


def _unsaved_refusal(url: str, reason: str) -> LinkPreview:
    return LinkPreview(
        url=url,
        status=PreviewStatus.REFUSED,
        error=f"refused: {reason}",
        fetched_at=timezone.now(),
    )
