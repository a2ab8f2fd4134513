"""Reads for handles and posts."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from mentiondesk.core.errors import Conflict, NotFound

from .connectors import network_facts
from .constants import POLL_BUDGET_SHARE, POLL_FLOOR_SECONDS
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
        # The ticket's handle: the one a reply goes out from, whose length limit the
        # composer shows.
        .select_related("handle", "ticket__handle")
        .annotate(is_answered=Exists(answered))
        .order_by("-created_at", "-remote_id")[:limit]
    )


def handle_text_limit(*, handle: Handle) -> int:
    """The longest post `handle` may send, as its network counts: what its server said
    (`services.handle_text_limit_learn`: a Mastodon instance's max_characters), else the
    network's default (500 on Mastodon, 300 graphemes on Bluesky, X's weighted 280)."""
    return handle.text_limit or network_facts(handle.network).text_limit


def handles_polled() -> QuerySet[Handle]:
    """The handles the poll reads: active ones that create tickets or feed a stream."""
    return Handle.objects.filter(
        Q(auto_ticket=True) | Q(respond_from=Handle.RespondFrom.STREAM), is_active=True
    ).order_by("pk")


def handle_poll_interval(*, handle: Handle, polled: list[Handle] | None = None) -> float:
    """Seconds between two periodic polls of `handle`: MENTIONDESK_POLL_INTERVAL_SECONDS when
    set, else what its network's mentions budget allows for the handles that spend it.

    The budget (`NetworkFacts.mentions_calls` per `mentions_window_seconds`) belongs to the
    token, so handles of the same network and instance with the same `credentials_env` share
    it (a handle with stored credentials has its own); `polled` (default `handles_polled()`)
    are the handles counted. The poll may spend POLL_BUDGET_SHARE of it, one call per handle
    per pass, and waits POLL_FLOOR_SECONDS at least:

        interval = max(floor, window / (calls * share) * sharing)
        X:        max(15, 900 s / (300 * 0.5) * n) = max(15, 6 s * n)   -> 15 s up to 2 handles,
                                                                            30 s for 5
        Mastodon: max(15, 300 s / (300 * 0.5) * n) = max(15, 2 s * n)   -> 15 s up to 7
        Bluesky:  max(15, 300 s / (3000 * 0.5) * n) = max(15, 0.2 s * n) -> 15 s up to 75
    """
    if settings.POLL_INTERVAL_SECONDS is not None:
        return settings.POLL_INTERVAL_SECONDS
    facts = network_facts(handle.network)
    if polled is None:
        polled = list(handles_polled())
    sharing = 1
    if handle.credentials_env:
        sharing = (
            sum(
                1
                for other in polled
                if other.pk != handle.pk
                and (other.network, other.base_url, other.credentials_env)
                == (handle.network, handle.base_url, handle.credentials_env)
            )
            + 1
        )
    per_call = facts.mentions_window_seconds / (facts.mentions_calls * POLL_BUDGET_SHARE)
    return max(POLL_FLOOR_SECONDS, per_call * sharing)


def poll_tick_seconds() -> float:
    """How often the worker looks for handles due a poll: the set interval, else the floor."""
    if settings.POLL_INTERVAL_SECONDS is not None:
        return settings.POLL_INTERVAL_SECONDS
    return POLL_FLOOR_SECONDS


def handles_poll_due(*, now: datetime) -> list[Handle]:
    """The polled handles whose interval (`handle_poll_interval`) has run out at `now`, or
    will before the next tick is halfway: waiting for that tick would be later than polling
    early. A handle never polled, or whose last poll failed before storing a page (its
    `last_polled_at` stays), is due."""
    polled = list(handles_polled())
    slack = timedelta(seconds=poll_tick_seconds() / 2)
    return [
        handle
        for handle in polled
        if handle.last_polled_at is None
        or handle.last_polled_at
        + timedelta(seconds=handle_poll_interval(handle=handle, polled=polled))
        - slack
        <= now
    ]
