from __future__ import annotations

from mentiondesk.channels.models import Post

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
