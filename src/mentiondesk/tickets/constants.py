"""The queues ("views") a team works from. The default is the seed's Twitter view: open X
tickets, oldest created first. Each network the desk speaks has its own playable view (the
Twitter view keeps the handbook's name), and "All networks" plays them all as one queue."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from mentiondesk.channels.models import Handle, Network

from .models import QUEUE_STATUSES


@dataclass(frozen=True)
class View:
    slug: str
    name: str
    filter: Q
    playable: bool = True
    # The viewer's own tickets: `filter` narrowed to those assigned to whoever looks.
    mine: bool = False
    # A network's own queue: the sidebar leaves it out while the desk has no handle there.
    network: str | None = None
    # A queue over several networks: the sidebar shows it once two network views show.
    across_networks: bool = False


DEFAULT_VIEW = "twitter"


def _queue(**network: str) -> Q:
    """The new and open tickets of desk handles (a stream handle, the seed's TweetDeck handle,
    answers from the stream column instead), on one network or, without one, on all."""
    return Q(
        **network,
        status__literal_in=QUEUE_STATUSES,
        # A subquery, not a join: with a join SQLite puts a desk's one or two handles first
        # and then sorts all their open tickets for each page.
        handle__in=Handle.objects.filter(respond_from=Handle.RespondFrom.DESK),
    )


VIEWS: dict[str, View] = {
    v.slug: v
    for v in (
        View("twitter", "Twitter", _queue(network=Network.X), network=Network.X),
        View("mastodon", "Mastodon", _queue(network=Network.MASTODON), network=Network.MASTODON),
        View("bluesky", "Bluesky", _queue(network=Network.BLUESKY), network=Network.BLUESKY),
        View("all-networks", "All networks", _queue(), across_networks=True),
        # Everything the viewer still has to finish, new or waiting on the requester.
        View(
            "mine",
            "My tickets",
            Q(status__literal_in=(*QUEUE_STATUSES, "pending")),
            playable=False,
            mine=True,
        ),
        View("pending", "Pending", Q(status="pending"), playable=False),
        View("solved", "Solved", Q(status="solved"), playable=False),
        View("all", "All tickets", Q(), playable=False),
    )
}
