from __future__ import annotations

from collections.abc import Iterable

from mentiondesk.channels.models import Post

from .choices import PreviewStatus
from .models import LinkPreview
from .services import link_target, post_links


def link_previews_for_post(*, post: Post) -> dict[str, LinkPreview]:
    """The stored previews of `post`'s links, keyed by each link's `url` as it appears in
    `post.urls` (the t.co link on X), for showing title + domain next to it. Links not
    expanded yet are missing. One query."""
    targets = {
        url: link_target(url=url, expanded_url=expanded_url)
        for url, expanded_url in post_links(post=post)
    }
    by_target = {p.url: p for p in LinkPreview.objects.filter(url__in=set(targets.values()))}
    return {url: by_target[t] for url, t in targets.items() if t in by_target}


def link_previews_shown(*, posts: Iterable[Post]) -> dict[int, list[LinkPreview]]:
    """For each of `posts` (by pk), the previews to show under it: those of its links whose
    page was fetched (status ok), in the order of the links, once per page visited. Refused
    and failed links, and links not expanded yet, show nothing. One query for all posts."""
    targets = {
        post.pk: list(
            dict.fromkeys(link_target(url=url, expanded_url=e) for url, e in post_links(post=post))
        )
        for post in posts
    }
    wanted = {t for ts in targets.values() for t in ts}
    found = (
        {p.url: p for p in LinkPreview.objects.filter(url__in=wanted, status=PreviewStatus.OK)}
        if wanted
        else {}
    )
    return {pk: [found[t] for t in ts if t in found] for pk, ts in targets.items()}
