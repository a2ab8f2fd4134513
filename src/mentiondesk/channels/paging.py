"""Reading a network's pages newest first, resumable: the one loop of every read that ingest
makes (mentions, our own timeline, direct messages)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from .connectors.base import Rejected, id_newer

__all__ = ["id_newer", "pages_read"]


class Page(Protocol):
    @property
    def newest_id(self) -> str | None: ...

    @property
    def next_token(self) -> str | None: ...


P = TypeVar("P", bound=Page)


def pages_read(
    *,
    fetch: Callable[[str | None], P],
    keep: Callable[[P, str, str | None], object],
    resume: tuple[str, str],
    last: Callable[[P], bool] | None = None,
) -> None:
    """Read pages newest first from `resume` (the read's newest id and next page, left by a
    read cut short) or else from the newest page, handing each to `keep(page, the read's
    newest id, the next page or None on the last one)`; `keep` stores the page and where the
    read is in one transaction, so a read cut short goes on from its next page. The read
    ends on the page X gives no next page for, or that `last(page)` says is enough. Raises
    the connector's errors (RateLimited, …); what `keep` stored stays."""
    newest_id: str | None = resume[0] or None
    token: str | None = resume[1] or None
    resuming = token is not None
    while True:
        try:
            page = fetch(token)
        except Rejected:
            if not resuming:
                raise
            # X no longer knows the page we stopped at: read again from the newest page (the
            # checkpoint has not moved, so nothing is skipped).
            resuming, newest_id, token = False, None, None
            continue
        resuming = False
        newest_id = newest_id or page.newest_id
        token = None if last is not None and last(page) else page.next_token
        keep(page, newest_id or "", token)
        if not token:
            return
