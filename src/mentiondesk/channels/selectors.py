"""Reads for handles and posts."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from mentiondesk.core.errors import Conflict, NotFound

from .connectors import network_facts
from .models import Handle, Network, Post


def post_get(*, remote_id: str, network: str | None = None) -> Post:
    """One stored post by its network id (a status id on X or Mastodon, an at:// URI on
    Bluesky), on `network` or, when None, on whichever network has it. Raises NotFound, or
    Conflict when two networks have a post by that id (name the network)."""
    posts = Post.objects.select_related("handle", "ticket", "ticket__handle").filter(
        remote_id=remote_id
    )
    if network is not None:
        posts = posts.filter(network=network)
    found = list(posts[:2])
    if not found:
        raise NotFound(f"post {remote_id} is not in the desk")
    if len(found) > 1:
        raise Conflict(
            f"posts on {found[0].network} and {found[1].network} have the id {remote_id}: "
            "name the network (?network=…)"
        )
    return found[0]


def handle_get(*, username: str, network: str = Network.X) -> Handle:
    """One of our handles by username (case-insensitive, "@" optional). Raises NotFound."""
    handle = Handle.objects.filter(network=network, username__iexact=username.lstrip("@")).first()
    if handle is None:
        raise NotFound(f"@{username.lstrip('@')} is not one of our handles (see `policy show`)")
    return handle


def stream_handles() -> QuerySet[Handle]:
    return Handle.objects.filter(is_active=True, respond_from=Handle.RespondFrom.STREAM)


def stream_posts(*, handle: Handle | None = None, limit: int = 50) -> QuerySet[Post]:
    """The live column of stream handles (the seed's TweetDeck): their newest inbound posts,
    each annotated with `is_answered` (one of our posts already replies to it)."""
    handles = [handle] if handle else list(stream_handles())
    answered = Post.objects.filter(
        network=OuterRef("network"),
        direction=Post.Direction.OUTBOUND,
        in_reply_to_remote_id=OuterRef("remote_id"),
        deleted_at=None,
    )
    return (
        Post.objects.filter(direction=Post.Direction.INBOUND)
        .filter(Q(handle__in=handles) | Q(ticket__handle__in=handles))
        .select_related("handle", "ticket")
        .annotate(is_answered=Exists(answered))
        .order_by("-created_at", "-remote_id")[:limit]
    )


def handle_text_limit(*, handle: Handle) -> int:
    """The longest post `handle` may send, as its network counts: what its server said
    (`services.handle_text_limit_learn`: a Mastodon instance's max_characters), else the
    network's default (500 on Mastodon, 300 graphemes on Bluesky, X's weighted 280)."""
    return handle.text_limit or network_facts(handle.network).text_limit
