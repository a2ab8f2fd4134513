"""The poll: each handle's mentions and own timeline, stored as posts, follow-ups and tickets."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from django.db import IntegrityError
from django.utils import timezone

from mentiondesk.channels import paging
from mentiondesk.channels import selectors as channel_selectors
from mentiondesk.channels.connectors import network_facts
from mentiondesk.channels.connectors.base import (
    Connector,
    ConnectorError,
    DmReader,
    PostPage,
    RemotePost,
)
from mentiondesk.channels.models import Handle, Post
from mentiondesk.channels.services import (
    handle_connection,
    handle_resolve_remote_id,
    handle_text_limit_learn,
)
from mentiondesk.core.errors import DomainError
from mentiondesk.costs.services import UsageMeter
from mentiondesk.tickets.models import Ticket

from . import dms, store, threads
from .store import IngestResult as IngestResult
from .store import mentions_store as mentions_store

logger = logging.getLogger(__name__)

# How far above a page's posts `_parents` climbs through our own posts, and ids per lookup.
PARENT_LEVELS = 3
MAX_LOOKUP = 100


def handle_poll(*, handle: Handle, connector: Connector | None = None) -> IngestResult:
    """One ingestion pass for `handle`: every mention newer than its checkpoint, then our own
    timeline back far enough to see every answer we gave from outside the desk.

    Both reads page newest first. Pages are stored in batches (`store.PageBatches`), each in
    its own transaction; a checkpoint moves to the read's newest id only in the transaction
    of its last page, and until then each batch records where the read is (`resume_*`,
    `own_resume_*`), so a pass cut short by a rate limit or a crash goes on from the next
    page: a backlog longer than one rate-limit window still drains. The unique remote ids
    absorb anything read twice. Connector errors end the pass with `error` set; nothing read
    so far is lost (the pages kept are stored first). So does a batch that lost a race with
    another handle's poll storing the same new conversation (the unique active ticket): the
    batch is rolled back, its checkpoint with it, and the next poll reads it again."""
    result = IngestResult(handle=handle.username)
    batches = store.PageBatches(handle=handle, result=result)
    try:
        meter = UsageMeter(handle=handle)
        with handle_connection(handle=handle, meter=meter, connector=connector) as x:
            handle_resolve_remote_id(handle=handle, connector=x)
            handle_text_limit_learn(handle=handle, connector=x)

            def mentions_page(token: str | None) -> PostPage:
                if batches.due():
                    batches.flush()
                return x.mentions(
                    handle.remote_id, since_id=handle.since_id or None, pagination_token=token
                )

            def page_in(page: PostPage) -> store.PageIn:
                # What the page's posts answer (whom our reply answers is read from its
                # thread), each post in its conversation as the desk has it (Mastodon).
                posts, parents = threads.posts_rethread(
                    network=handle.network,
                    posts=page.posts,
                    context=_parents(handle=handle, page=page, connector=x, pending=batches.held),
                    held=batches.held,
                )
                return store.PageIn(posts=posts, context=parents, problems=page.problems)

            def mentions_keep(page: PostPage, newest: str, token: str | None) -> None:
                batches.add(
                    replace(
                        page_in(page),
                        checkpoint=None if token else newest,
                        resume=(newest, token) if token else ("", ""),
                    )
                )

            try:
                paging.pages_read(
                    fetch=mentions_page,
                    keep=mentions_keep,
                    resume=(handle.resume_newest_id, handle.resume_token),
                )
            finally:
                batches.flush()
            # Our own timeline: replies sent from the X app attach to their tickets even when
            # they mention none of the handles we watch. Read back to the checkpoint, and no
            # further than the oldest ticket not solved: an older post of ours answers nothing
            # that is still open. With neither, the newest page sets the checkpoint.
            start_time = _timeline_floor(handle=handle)

            def own_page(token: str | None) -> PostPage:
                if batches.due():
                    batches.flush()
                return x.user_posts(
                    handle.remote_id,
                    since_id=handle.own_since_id or None,
                    start_time=start_time,
                    pagination_token=token,
                )

            def own_keep(page: PostPage, newest: str, token: str | None) -> None:
                batches.add(
                    replace(
                        page_in(page),
                        own_checkpoint=None if token else newest,
                        own_resume=(newest, token) if token else ("", ""),
                    )
                )

            bounded = bool(start_time or handle.own_since_id)
            try:
                paging.pages_read(
                    fetch=own_page,
                    keep=own_keep,
                    resume=(handle.own_resume_newest_id, handle.own_resume_token),
                    last=None if bounded else lambda page: True,
                )
            finally:
                batches.flush()
            # The requesters' answers to our direct messages (channels.dms), resumable alike;
            # only where the network's DMs are read (a Mastodon DM is a direct mention, read
            # above; Bluesky's chat is another service).
            if network_facts(handle.network).reads_dms and isinstance(x, DmReader):
                dm_read = dms.handle_dms_read(handle=handle, connector=x)
                result.follow_ups += dm_read.follow_ups
    except (ConnectorError, DomainError) as exc:
        result.error = str(exc)
        logger.warning("poll @%s stopped: %s", handle.username, exc)
    except IntegrityError as exc:
        # Another poll (a second handle named in the same post, polled by its own worker)
        # opened the same conversation's ticket between this batch's read and its insert.
        # The batch was rolled back: the handle's checkpoint fields changed in memory go too,
        # and the next poll goes on from the stored checkpoint, finding those posts stored.
        handle.refresh_from_db()
        result.error = (
            "another poll stored some of these posts at the same moment; "
            "the next poll goes on from the checkpoint"
        )
        logger.warning("poll @%s stopped: %s (%s)", handle.username, result.error, exc)
    return result


def _timeline_floor(*, handle: Handle) -> datetime | None:
    """When the oldest ticket on `handle`'s network whose answers may still change started
    (new, open or pending: a pending ticket's earliest answer may be a post of ours not read
    yet), a second early (X's times are whole seconds); None when there is none."""
    starts = [
        Ticket.objects.filter(network=handle.network, status=status)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
        for status in (Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.PENDING)
    ]
    oldest = min(filter(None, starts), default=None)
    return oldest - timedelta(seconds=1) if oldest else None


def _parents(
    *, handle: Handle, page: PostPage, connector: Connector, pending: Collection[str] = ()
) -> list[RemotePost]:
    """The posts this page replies to, for context on the ticket and for the ticket rule
    (whom our reply answers is found by climbing its thread): from `includes.tweets`, and
    through GET /2/tweets for those X left out and we do not have yet. Above a post of ours,
    its own parent is looked up too, a few levels at most (one lookup each), so a reply to
    our reply reaches the requester we answered. `pending`: posts read and about to be
    stored (the batch being kept), which count as stored."""
    parents = dict(page.included)
    ours = set(our_handles_by_id(network=handle.network))
    known = {p.remote_id for p in page.posts}
    climbing = list(page.posts)
    for _ in range(PARENT_LEVELS):
        wanted = {p.in_reply_to_id for p in climbing if p.in_reply_to_id} - known - set(parents)
        wanted -= set(pending)
        if wanted:
            stored = Post.objects.filter(network=handle.network, remote_id__in=wanted)
            wanted -= set(stored.values_list("remote_id", flat=True))
        if wanted:
            try:
                # Deleted or protected parents come back as errors[]: they are simply not there.
                found = connector.posts_lookup(sorted(wanted)[:MAX_LOOKUP])
                parents.update((p.remote_id, p) for p in found.posts)
            except ConnectorError as exc:
                logger.info("parents of @%s's posts not fetched: %s", handle.username, exc)
                break
        known |= {p.in_reply_to_id for p in climbing if p.in_reply_to_id}
        climbing = [p for p in parents.values() if p.author_id in ours and p.remote_id in known]
        climbing = [p for p in climbing if p.in_reply_to_id and p.in_reply_to_id not in known]
        if not climbing:
            break
    return list(parents.values())


def mentions_poll_all(*, networks: Iterable[str] | None = None) -> list[IngestResult]:
    """One pass over every active handle that creates tickets or feeds a stream (on
    `networks` only, when given)."""
    handles = channel_selectors.handles_polled()
    if networks is not None:
        handles = handles.filter(network__in=list(networks))
    return [handle_poll(handle=handle) for handle in handles]


def mentions_poll_due() -> list[IngestResult]:
    """One pass over the handles whose poll interval has run out (the worker's periodic job:
    each handle at its own pace, `channel_selectors.handle_poll_interval`)."""
    due = channel_selectors.handles_poll_due(now=timezone.now())
    return [handle_poll(handle=handle) for handle in due]


def our_handles_by_id(*, network: str) -> dict[str, Handle]:
    return {h.remote_id: h for h in Handle.objects.filter(network=network).exclude(remote_id="")}
