"""What every network connector returns and raises. Connectors do vendor I/O only: no Django,
no database. Services decide what a result means for tickets and replies."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemoteUser:
    remote_id: str
    username: str
    name: str = ""


@dataclass(frozen=True)
class RemotePost:
    """One post as the network reported it, normalised; `raw` keeps the item as received."""

    remote_id: str
    author_id: str
    author_username: str
    text: str
    created_at: datetime
    conversation_id: str
    in_reply_to_id: str | None = None  # the post this one replies to (referenced replied_to)
    in_reply_to_user_id: str | None = None
    mentions: tuple[str, ...] = ()  # usernames as written, without "@"
    urls: tuple[dict[str, str], ...] = ()  # {"url", "expanded_url", "display_url"}
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class PayloadProblem:
    """An item the connector could not use; kept whole so nothing is lost."""

    reason: str
    raw: Any


@dataclass(frozen=True)
class PostPage:
    """One page of posts (mentions, a user's posts, a lookup)."""

    posts: list[RemotePost]
    newest_id: str | None = None
    next_token: str | None = None
    problems: list[PayloadProblem] = field(default_factory=list)
    # Referenced posts delivered in `includes.tweets`, by id (the parents being replied to).
    included: dict[str, RemotePost] = field(default_factory=dict)


@dataclass(frozen=True)
class RemoteDm:
    """One direct message event (`MessageCreate`) as the network reported it; `raw` keeps the
    item as received. Private: never handled like a public post."""

    remote_id: str
    sender_id: str
    conversation_id: str
    text: str
    created_at: datetime
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class DmPage:
    """One page of direct message events, newest first."""

    events: list[RemoteDm]
    newest_id: str | None = None
    next_token: str | None = None
    problems: list[PayloadProblem] = field(default_factory=list)


@dataclass(frozen=True)
class CallReport:
    """One request that reached the network, as the connector saw it: for the usage meter.

    `status` is None when no answer came back (a timeout after sending); `body` is the decoded
    JSON answer (None when there was none or it was not JSON); `sent` is the JSON we sent."""

    endpoint: str  # "METHOD /route/:template", e.g. "GET /2/users/:id/mentions"
    status: int | None
    body: Any = None
    sent: dict[str, Any] | None = None


CallRecorder = Callable[[CallReport], None]


class ConnectorError(Exception):
    """Base class. `detail` is safe to show to an agent."""

    def __init__(self, detail: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.body = body


class Unreachable(ConnectorError):
    """The request never reached the network (DNS, refused connection): nothing happened there."""


class RateLimited(ConnectorError):
    """429, or a call refused locally because the endpoint's window has not reset yet."""

    def __init__(self, detail: str, *, reset_at: datetime, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.reset_at = reset_at


class Rejected(ConnectorError):
    """The network refused the request for certain (4xx): nothing was created."""


class OutcomeUnknown(ConnectorError):
    """The request may have taken effect: timeout after sending, 5xx, or 403 duplicate content.
    Never retry a write blindly after this: reconcile first, or send again with the same key
    where the network dedupes sends on it (`connectors.NETWORKS[...].sends_keyed`)."""


def id_newer(candidate: str, current: str) -> bool:
    """Ids of decimal digits (X's snowflakes, Mastodon's status and notification ids): a
    longer id is newer, equal lengths compare as strings. Any id is newer than no
    checkpoint."""
    if not current:
        return True
    return (len(candidate), candidate) > (len(current), current)


class ConnectorBase:
    """What every connector does alike: each request that leaves is reported to the recorder
    installed with `recording()` (the usage meter's seam), and a `with` block closes it."""

    _recorder: CallRecorder | None = None

    def close(self) -> None:
        raise NotImplementedError

    @contextmanager
    def recording(self, recorder: CallRecorder) -> Iterator[Self]:
        """Report every request sent inside the block to `recorder` (the previous recorder is
        restored after it)."""
        previous, self._recorder = self._recorder, recorder
        try:
            yield self
        finally:
            self._recorder = previous

    def _report(self, report: CallReport) -> None:
        if self._recorder is None:
            return
        try:
            self._recorder(report)
        except Exception:  # the meter must never turn a done call into a failed one
            logger.exception("usage recorder failed for %s", report.endpoint)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Connector(Protocol):
    """What every network's connector offers the desk (XConnector, MastodonConnector,
    BlueskyConnector): the same names, arguments and results, so ingest, the outbox and the
    meter never ask which network they speak to. What differs between networks (the send's
    key, checkpoints, DMs, billing) is said once in `connectors.NETWORKS`; a send's
    network-specific keyword arguments (Mastodon's idempotency_key and visibility,
    Bluesky's rkey) come from that network's `send_keys`."""

    def close(self) -> None: ...

    def recording(self, recorder: CallRecorder) -> AbstractContextManager[Any]: ...

    def clock_skew(self) -> timedelta | None: ...

    def me(self) -> RemoteUser: ...

    def author(self) -> RemoteUser: ...

    def user_by_username(self, username: str) -> RemoteUser: ...

    def mentions(
        self,
        user_id: str,
        *,
        since_id: str | None = None,
        pagination_token: str | None = None,
        max_results: int = 100,
    ) -> PostPage: ...

    def user_posts(
        self,
        user_id: str,
        *,
        since_id: str | None = None,
        pagination_token: str | None = None,
        max_results: int = 100,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> PostPage: ...

    def posts_lookup(self, ids: list[str]) -> PostPage: ...

    def post_create(self, text: str, *, in_reply_to_id: str | None = None) -> RemotePost: ...

    def post_delete(self, post_id: str) -> bool: ...

    def like(self, user_id: str, post_id: str) -> bool: ...

    def dm_send(self, participant_id: str, text: str) -> dict[str, Any]: ...


@runtime_checkable
class DmReader(Protocol):
    """A connector that reads direct messages (X's dm_events): only asked where the network's
    facts say `reads_dms`."""

    def dm_events(
        self, *, pagination_token: str | None = None, max_results: int = 100
    ) -> DmPage: ...
