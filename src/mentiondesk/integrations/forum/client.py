"""A Discourse forum's search, read through httpx: vendor I/O only, no database.

httpx rather than pydiscourse: pydiscourse (requests, untyped) always sends an API key and
username, which a public forum's search does not need, and on a 429 it sleeps for the wait
and tries again up to four times inside the call, which would hold up the ticket page. One
GET of documented JSON needs no SDK; a 429 comes back at once as EvidenceError with
`retry_after` (Retry-After, else the body's `extras.wait_seconds`).

API relied on (https://docs.discourse.org/#tag/Search/operation/search): `GET /search.json?q=`
answers `topics[]` (id, title, slug, reply_count, has_accepted_answer, category_id, …) and
`posts[]` (topic_id, blurb, …); every word of `q` must match. Topic pages are
`/t/{slug}/{id}`.
"""

from __future__ import annotations

from typing import Any

from mentiondesk.integrations.vendorhttp import get_json, unexpected


def topics_search(*, base_url: str, query: str, timeout: float) -> list[dict[str, Any]]:
    """Topics matching `query`, in Discourse's order: title, url, has_accepted_answer, replies,
    category_id, excerpt (the matching post's blurb), last_posted_at. Raises EvidenceError."""
    data = get_json(f"{base_url}/search.json", params={"q": query}, timeout=timeout)
    if not isinstance(data, dict) or not isinstance(data.get("topics", []), list):
        raise unexpected("no topics list")
    blurbs: dict[int, str] = {}
    for post in data.get("posts") or []:
        if isinstance(post, dict) and isinstance(post.get("topic_id"), int):
            blurbs.setdefault(post["topic_id"], str(post.get("blurb") or ""))
    items = []
    for topic in data.get("topics") or []:
        if not isinstance(topic, dict):
            continue
        topic_id, title, slug = topic.get("id"), topic.get("title"), topic.get("slug")
        if not isinstance(topic_id, int) or not isinstance(title, str):
            continue
        reply_count = topic.get("reply_count")
        if not isinstance(reply_count, int):  # older forums: posts_count includes the first
            posts_count = topic.get("posts_count")
            reply_count = max(0, posts_count - 1) if isinstance(posts_count, int) else 0
        items.append(
            {
                "title": title,
                "url": f"{base_url}/t/{slug or 'topic'}/{topic_id}",
                "has_accepted_answer": topic.get("has_accepted_answer") is True,
                "replies": reply_count,
                "category_id": topic.get("category_id"),
                "excerpt": blurbs.get(topic_id, ""),
                "last_posted_at": str(topic.get("last_posted_at") or ""),
            }
        )
    return items
