"""The queues ("views") a team works from. The default is the seed's Twitter view: open X
tickets, oldest created first."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from mentiondesk.channels.models import Handle

from .models import QUEUE_STATUSES


@dataclass(frozen=True)
class View:
    slug: str
    name: str
    filter: Q
    playable: bool = True
    # The viewer's own tickets: `filter` narrowed to those assigned to whoever looks.
    mine: bool = False


DEFAULT_VIEW = "twitter"

VIEWS: dict[str, View] = {
    v.slug: v
    for v in (
        # Stream handles (the seed's TweetDeck handle) answer from the stream column instead.
        View(
            "twitter",
            "Twitter",
            Q(
                network="x",
                status__literal_in=QUEUE_STATUSES,
                # A subquery, not a join: with a join SQLite puts a desk's one or two handles
                # first and then sorts all their open tickets for each page.
                handle__in=Handle.objects.filter(respond_from=Handle.RespondFrom.DESK),
            ),
        ),
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
