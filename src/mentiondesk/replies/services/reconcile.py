"""Reconciliation: a send whose outcome is unknown (a timeout, a 5xx, a 403 duplicate, or a
lease found expired after a crash) is never sent again blindly; our posts on the network are
read instead, within the send's window (`SearchProgress`), at most RECONCILE_MAX_PAGES pages:
found → `sent`, not found → needs attention saying how far the search looked, rate limited →
still `sending`, the search going on from where it stopped after the network's reset.

The protocol around it is deliver.py's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mentiondesk.channels.connectors import network_facts
from mentiondesk.channels.connectors.base import (
    Connector,
    ConnectorError,
    RateLimited,
    RemotePost,
)

from ..models import DeliveryAttempt, Reply
from .outcome import network_name, reply_park, reply_record_sent


def reply_reconcile(
    *,
    reply: Reply,
    attempt: DeliveryAttempt,
    connector: Connector,
    why: str,
    windowed: bool = True,
) -> Reply:
    """Look for our post on the handle's timeline (back to the post the reply answers, and
    within the send's window unless not `windowed`) before deciding anything."""
    park = partial(reply_park, reply=reply, attempt=attempt)
    if reply.kind == Reply.Kind.DM:
        return park(
            outcome=DeliveryAttempt.Outcome.UNKNOWN,
            reason=f"Outcome unknown ({why}). Direct messages cannot be looked up here: check the "
            f"conversation on {network_name(reply)} before sending again.",
        )
    progress = SearchProgress.from_json(reply.search_progress)
    if not windowed:
        progress.sent_from = None
    try:
        search = reply_find_on_network(reply=reply, connector=connector, progress=progress)
    except RateLimited as exc:
        return _reply_reconcile_later(reply, attempt, why, exc, progress)
    except ConnectorError as exc:
        _search_progress_clear(reply)
        return park(
            outcome=DeliveryAttempt.Outcome.UNKNOWN,
            reason=f"Outcome unknown ({why}) and the check on {network_name(reply)} failed "
            f"({exc}). Look on {network_name(reply)} before sending again.",
        )
    _search_progress_clear(reply)
    if search.found is not None:
        return reply_record_sent(
            reply=reply,
            attempt=attempt,
            remote=search.found,
            outcome=DeliveryAttempt.Outcome.RECONCILED_FOUND,
        )
    # Only a search that read the whole window is proof the post is not there
    # (selectors.reply_may_have_left): one stopped at the page cap leaves the outcome unknown.
    return park(
        outcome=DeliveryAttempt.Outcome.RECONCILED_MISSING
        if search.complete
        else DeliveryAttempt.Outcome.UNKNOWN,
        reason=f"Outcome unknown ({why}) and the post is not among @{reply.handle.username}'s "
        f"{search.looked_at()}. It was not re-sent, to avoid a duplicate: check on "
        f"{network_name(reply)}, then send again.",
    )


def _reply_reconcile_later(
    reply: Reply, attempt: DeliveryAttempt, why: str, exc: RateLimited, progress: SearchProgress
) -> Reply:
    """X's window for reading our timeline is spent: the outcome is still unknown, so the
    reply stays `sending` and its lease ends at X's reset; the sweep reconciles it then
    (never re-sends it), reading on from `progress`."""
    now = timezone.now()
    until = max(exc.reset_at, now) + timedelta(seconds=1)
    detail = (
        f"Outcome unknown ({why}); the check on {network_name(reply)} waits for its rate "
        f"limit: {exc}"
    )
    with transaction.atomic():
        Reply.objects.filter(pk=reply.pk).update(
            status=Reply.Status.SENDING,
            lease_until=until,
            reason=detail,
            search_progress=progress.as_json(),
            updated_at=now,
        )
        # The search was rate limited, not the send: an attempt that sent its request keeps
        # an unknown outcome (selectors.reply_may_have_left reads RATE_LIMITED as "X made
        # nothing").
        attempt.outcome, attempt.detail, attempt.finished_at = (
            DeliveryAttempt.Outcome.UNKNOWN
            if attempt.request_started_at
            else DeliveryAttempt.Outcome.RATE_LIMITED,
            detail,
            now,
        )
        attempt.save(update_fields=["outcome", "detail", "finished_at"])
    reply.refresh_from_db()
    return reply


def _search_progress_clear(reply: Reply) -> None:
    """The search ended: a later send of this reply (sent again by a person) starts afresh."""
    if reply.search_progress:
        Reply.objects.filter(pk=reply.pk).update(search_progress={})
        reply.search_progress = {}


# The window is moved to X's clock by the skew measured from its Date header (to the second),
# and a post's time and the moment X stamped it can still differ a little: a send's post is
# looked for this much either side of the time it could have been created.
SEND_WINDOW_MARGIN = timedelta(minutes=1)
# X may refuse an end_time too close to now; a window ending later is read up to now.
END_TIME_LAG = timedelta(seconds=10)


@dataclass
class SearchProgress:
    """A search of our timeline for a send's post.

    `sent_from` is when the send began (its claim): X can only have created the post between
    then and the end of the send's lease (a worker gives up on X before its lease ends), so the
    search reads that window (`window`) and no further back, however many posts were made
    since. Without it (a 403 duplicate: the identical post may be older), the search reads
    back to the post the reply answers.

    The rest is how far the search got: the next page's token, the pages and posts read, the
    oldest post's time, and the end_time of its first page (pages after it must ask the same).
    Kept on the reply when X's rate limit interrupts the search, so the next try reads on
    instead of starting over: with a window smaller than the pages to read (a few calls per
    15 minutes on X's Basic tier), starting over never ends. The pages already read need no
    second look: the post sought was sent before the search began."""

    sent_from: datetime | None = None
    token: str | None = None
    pages: int = 0
    posts: int = 0
    oldest_at: datetime | None = None
    end_time: datetime | None = None

    _TIMES = ("sent_from", "oldest_at", "end_time")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchProgress:
        times = {
            name: datetime.fromisoformat(data[name]) if data.get(name) else None
            for name in cls._TIMES
        }
        return cls(
            token=data.get("token") or None,
            pages=int(data.get("pages", 0)),
            posts=int(data.get("posts", 0)),
            **times,
        )

    def as_json(self) -> dict[str, Any]:
        times = {name: getattr(self, name) for name in self._TIMES}
        return {
            "token": self.token,
            "pages": self.pages,
            "posts": self.posts,
            **{name: t.isoformat() if t else None for name, t in times.items()},
        }

    def window(self) -> tuple[datetime, datetime] | None:
        """From when to when X could have created the send's post, margins included, on the
        desk's clock (`reply_find_on_network` moves it to X's)."""
        if self.sent_from is None:
            return None
        lease = timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
        return self.sent_from - SEND_WINDOW_MARGIN, self.sent_from + lease + SEND_WINDOW_MARGIN


@dataclass(frozen=True)
class NetworkSearch:
    """What `reply_find_on_network` read: the post when found, and how far it looked."""

    found: RemotePost | None
    pages: int
    posts: int
    complete: bool  # read the whole window, back to the post the reply answers at most
    oldest_at: datetime | None = None
    since_parent: bool = True  # the reply answers a post: the search stops there
    window: tuple[datetime, datetime] | None = None  # SearchProgress.window, on X's clock
    skew: timedelta = timedelta(0)  # X's clock minus the desk's
    network_label: str = "X"  # whose timeline was read, for the person reading
    timeline_endpoint: str = "GET /2/users/:id/tweets"

    def looked_at(self) -> str:
        """How far the search went, for a person deciding whether to look on X."""
        read = f"{self.posts:,} post{'s' if self.posts != 1 else ''}"
        if self.complete:
            if self.window:
                start, end = self.window
                return (
                    f"posts from {start:%Y-%m-%d %H:%M:%S} to {end:%H:%M:%S} UTC{self._clock()} "
                    f"({read} read)"
                )
            since = " since the post it answers" if self.since_parent else ""
            return f"posts{since} ({read} read)"
        oldest = f", back to {self.oldest_at:%Y-%m-%d %H:%M} UTC" if self.oldest_at else ""
        return (
            f"newest {read} ({self.pages} page{'s' if self.pages != 1 else ''} of "
            f"{self.timeline_endpoint}, the cap{oldest}); older posts were not read"
        )

    def _clock(self) -> str:
        seconds = int(self.skew.total_seconds())
        if not seconds:
            return ""
        way = "ahead of" if seconds > 0 else "behind"
        return f" on {self.network_label}'s clock, {abs(seconds)} s {way} the desk's"


def reply_find_on_network(
    *, reply: Reply, connector: Connector, progress: SearchProgress | None = None
) -> NetworkSearch:
    """Our post for `reply` on the network, matched by the post it answers and its text.

    Reads the handle's timeline newest first, page after page, within the send's window
    (`progress.window()`, when known) and back to the post the reply answers (`since_id`) at
    most, at most settings.RECONCILE_MAX_PAGES pages in all: each page is a metered,
    rate-limited request. The window is asked on X's clock: moved by the skew the connector
    measured from X's Date header (one GET /2/users/me first when this process has no
    measurement yet). Goes on from `progress` (updated page by page) when given. Stops at the
    first match. X rewrites links as t.co, so links are ignored in the comparison. Raises
    ConnectorError (RateLimited included) when a page cannot be read."""
    comparable = partial(_comparable, network=reply.handle.network)
    wanted = comparable(reply.text)
    parent = reply.in_reply_to_remote_id or None
    at = progress if progress is not None else SearchProgress()
    window = at.window()
    skew = timedelta(0)
    if window is not None:
        # X filters start_time/end_time by its own clock: a desk a few minutes off would
        # otherwise ask for a window its post is not in.
        skew = _x_clock_skew(connector)
        window = (window[0] + skew, window[1] + skew)
        if at.pages == 0 and window[1] < timezone.now() + skew - END_TIME_LAG:
            # Found late (a backlog held up the sweep), the window may lie thousands of posts
            # back: X starts the pages there.
            at.end_time = window[1]
    facts = network_facts(reply.handle.network)
    found = partial(
        NetworkSearch,
        since_parent=bool(parent),
        window=window,
        skew=skew,
        network_label=facts.label,
        timeline_endpoint=facts.timeline_endpoint,
    )
    while at.pages < settings.RECONCILE_MAX_PAGES:
        page = connector.user_posts(
            reply.handle.remote_id,
            since_id=parent,
            pagination_token=at.token,
            start_time=window[0] if window else None,
            end_time=at.end_time,
        )
        at.pages += 1
        at.posts += len(page.posts)
        for remote in page.posts:
            same_parent = (remote.in_reply_to_id or "") == reply.in_reply_to_remote_id
            if same_parent and comparable(remote.text) == wanted:
                return found(remote, at.pages, at.posts, complete=True)
            if remote.created_at is not None:
                at.oldest_at = remote.created_at
        at.token = page.next_token
        if not at.token:
            return found(None, at.pages, at.posts, complete=True)
    return found(None, at.pages, at.posts, complete=False, oldest_at=at.oldest_at)


def _x_clock_skew(connector: Connector) -> timedelta:
    """X's clock minus ours, as measured by the latest answer X gave this process; measured
    with GET /2/users/me when there is none (a worker that starts by reconciling)."""
    skew = connector.clock_skew()
    if skew is None:
        connector.me()
        skew = connector.clock_skew()
    return skew or timedelta(0)


_URL = re.compile(r"https?://\S+")
_LEADING_MENTIONS = re.compile(r"^(?:@\S+\s+)+")


def _comparable(text: str, *, network: str = "x") -> str:
    """`text` as the network's copy is compared with ours: without links (X rewrites them as
    t.co), and on Mastodon without the leading mentions (an instance shows a remote account's
    "@user@domain" as "@user")."""
    text = " ".join(_URL.sub("", text).split())
    if network_facts(network).reply_mentions_author:
        text = _LEADING_MENTIONS.sub("", text)
    return text
