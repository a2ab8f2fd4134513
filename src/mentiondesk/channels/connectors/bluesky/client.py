"""Bluesky (AT Protocol) connector: vendor I/O only, through MarshalX's `atproto` SDK (over httpx).

The same method names, keyword arguments and return types as `XConnector` (connectors/x), so the
desk treats every network alike; what differs is said here once:

- ids are `at://` URIs (`at://<did>/app.bsky.feed.post/<rkey>`); users are DIDs with handles;
- a session (access + refresh JWT) is logged in rarely and kept: see `session`;
- mentions come from app.bsky.notification.listNotifications, which has no `since`: see
  `mentions()` for the checkpoint;
- a reply's record key (`rkey`) is chosen by the desk, so a retried createRecord collides
  instead of posting twice; see `post_create()` for how the outcome of a failed send is learnt.

Lexicon shapes are the SDK's generated models (`atproto_client.models`): every item read is
parsed with them (`parse`), so a payload that breaks the lexicon becomes a PayloadProblem.
Every request goes through `transport`, which records it and keeps the rate-limit book.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
import regex
from atproto_client import Client, models
from atproto_client.models.utils import get_model_as_dict
from atproto_client.request import Request
from atproto_client.utils import facet_detection

from mentiondesk import __version__
from mentiondesk.channels.connectors.base import (
    ConnectorBase,
    ConnectorError,
    DmPage,
    OutcomeUnknown,
    PayloadProblem,
    PostPage,
    RateLimited,
    Rejected,
    RemotePost,
    RemoteUser,
    Unreachable,
)
from mentiondesk.channels.connectors.ratelimits import BOOK, token_digest

from .errors import TokenRefused, sdk_run
from .parse import (
    key_reached,
    lexicon_model,
    notification_key,
    parse_notification,
    parse_post_view,
    post_from_record,
)
from .rules import TEXT_LIMIT_GRAPHEMES, text_problem, uri_parts
from .session import SessionKeeping
from .transport import RecordingTransport

logger = logging.getLogger(__name__)

POST_COLLECTION = "app.bsky.feed.post"
LIKE_COLLECTION = "app.bsky.feed.like"
# The notifications a ticket is made of; likes, follows, reposts are not conversations.
MENTION_REASONS = ("mention", "reply", "quote")
# app.bsky.feed.getPosts takes at most 25 URIs per call.
GET_POSTS_MAX = 25
MAX_LOOKUP_IDS = 100

_M = TypeVar("_M")


class BlueskyConnector(SessionKeeping, ConnectorBase):
    """One Bluesky account (handle + app password) against one PDS / entryway (`service`).

    Sessions: `session` is a session string this account exported earlier (the desk stores
    it encrypted); with none, the process's newest one for the account is used; only without
    either does the first call log in (com.atproto.server.createSession). The SDK refreshes
    the access token itself 15 minutes before it expires; an access token the PDS calls
    expired anyway (ExpiredToken) is refreshed once and the call repeated; a refresh token
    the PDS no longer takes leads to one login. Every new session goes to `on_session`.

    Errors as XConnector's: Unreachable (nothing sent), RateLimited (429, with `reset_at`
    from `ratelimit-reset`; later calls to that endpoint are refused locally until then),
    Rejected (4xx: nothing happened), OutcomeUnknown (a write may have happened), and
    ConnectorError for anything else (a read's timeout or 5xx, an answer off the lexicon).

    Every request that leaves (whatever its answer) is reported to the recorder installed
    with `recording()`, as "METHOD /xrpc/<nsid>"; passwords and JWTs are masked.
    """

    def __init__(
        self,
        *,
        service: str,
        handle: str,
        password: str | None = None,
        session: str | None = None,
        on_session: Callable[[str], None] | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.service = service.rstrip("/")
        self.handle = handle.removeprefix("@")
        self._password = password
        self._session_given = session
        self._on_session = on_session
        self._account = (self.service, self.handle.lower())
        # Sessions come and go: the account, not its token, is what the PDS counts calls of
        # (as X's `rate_key`), so the book keys windows and `me()` by its handle.
        self._account_key = token_digest(self.handle.lower())
        inner = transport if transport is not None else httpx.HTTPTransport()
        request = Request(
            transport=RecordingTransport(
                inner,
                connector=self,
                service=self.service,
                account_key=self._account_key,
                # Another process's turn on an endpoint lasts one call, bounded by `timeout`.
                turn_wait=timeout + 1.0,
            ),
            timeout=timeout,
            headers={"User-Agent": f"mentiondesk/{__version__}"},
        )
        self._client = Client(base_url=self.service, request=request)
        self._client.on_session_change(self._session_changed)

    def close(self) -> None:
        self._client.request.close()

    @staticmethod
    def text_limit() -> int:
        """Bluesky's post length rule: 300 graphemes (`text_graphemes`)."""
        return TEXT_LIMIT_GRAPHEMES

    # Calls

    def _call(self, endpoint: str, call: Callable[[], _M], *, write: bool = False) -> _M:
        """Run one SDK call with a session, renewing it once if the PDS says it expired."""
        self._session_ready()
        stale = self._session_string()
        try:
            return self._sdk(endpoint, call, write=write, renewing=True)
        except TokenRefused:
            self._session_renew(stale)
            return self._sdk(endpoint, call, write=write)

    def _sdk(
        self, endpoint: str, call: Callable[[], _M], *, write: bool, renewing: bool = False
    ) -> _M:
        return sdk_run(endpoint, call, service=self.service, write=write, renewing=renewing)

    def clock_skew(self) -> timedelta | None:
        """The service's clock minus ours, as its latest `Date` header in this process said;
        None before the first answer."""
        return BOOK.skew_get(self.service)

    # Users

    def user_by_username(self, username: str) -> RemoteUser:
        """app.bsky.actor.getProfile of a handle (or DID): DID, handle, display name. An
        unknown handle is Rejected."""
        params = models.AppBskyActorGetProfile.Params(actor=username.removeprefix("@"))
        profile = self._call(
            "GET /xrpc/app.bsky.actor.getProfile",
            lambda: self._client.app.bsky.actor.get_profile(params),
        )
        return RemoteUser(
            remote_id=profile.did, username=profile.handle, name=profile.display_name or ""
        )

    def me(self) -> RemoteUser:
        """The account itself (com.atproto.server.getSession): DID and handle."""
        answer = self._call(
            "GET /xrpc/com.atproto.server.getSession",
            lambda: self._client.com.atproto.server.get_session(),
        )
        user = RemoteUser(remote_id=answer.did, username=answer.handle)
        BOOK.me_put((self.service, self._account_key), user)
        return user

    def author(self) -> RemoteUser:
        """The account itself, asked once per process (the session also names it)."""
        known = BOOK.me_get((self.service, self._account_key))
        if known is not None:
            return known
        self._session_ready()
        session = self._client._session
        if session is not None and session.did:
            user = RemoteUser(remote_id=session.did, username=session.handle)
            BOOK.me_put((self.service, self._account_key), user)
            return user
        return self.me()  # pragma: no cover - a session always names its account

    # Reads

    def mentions(
        self,
        user_id: str,
        *,
        since_id: str | None = None,
        pagination_token: str | None = None,
        max_results: int = 100,
    ) -> PostPage:
        """ONE page of app.bsky.notification.listNotifications (reasons mention, reply, quote;
        others skipped), newest first; loop on `next_token` (the cursor).

        `user_id` is ignored (notifications are always the session's own account). The
        endpoint has no `since`: `newest_id` is a checkpoint key ("<indexedAt>|<uri>", see
        `notification_key`) of the newest notification on the page; pass the newest one stored
        as `since_id`, and the page stops there (no `next_token`) once it is reached."""
        del user_id
        params = models.AppBskyNotificationListNotifications.Params(
            limit=max(1, min(max_results, 100)),
            cursor=pagination_token or None,
            reasons=list(MENTION_REASONS),
        )
        answer = self._call(
            "GET /xrpc/app.bsky.notification.listNotifications",
            lambda: self._client.invoke_query(
                "app.bsky.notification.listNotifications", params=params
            ),
        )
        body = answer.content if isinstance(answer.content, dict) else None
        if body is None or not isinstance(body.get("notifications"), list):
            raise ConnectorError("listNotifications: the answer has no notifications list")
        me = self.author()
        posts: list[RemotePost] = []
        problems: list[PayloadProblem] = []
        newest: str | None = None
        reached = False
        for item in body["notifications"]:
            key = notification_key(item) if isinstance(item, dict) else None
            if key is not None:
                if since_id and key_reached(key, since_id):
                    reached = True
                    break
                newest = max(newest or key, key)
            if not isinstance(item, dict) or item.get("reason") not in MENTION_REASONS:
                if not isinstance(item, dict):
                    problems.append(PayloadProblem("notification is not an object", item))
                continue
            parsed = parse_notification(item, me=me)
            if isinstance(parsed, RemotePost):
                posts.append(parsed)
            else:
                problems.append(parsed)
        cursor = body.get("cursor")
        more = not reached and isinstance(cursor, str) and cursor and body["notifications"]
        return PostPage(
            posts=posts,
            newest_id=newest,
            next_token=cursor if more else None,
            problems=problems,
        )

    def user_posts(
        self,
        user_id: str,
        *,
        since_id: str | None = None,
        pagination_token: str | None = None,
        max_results: int = 100,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> PostPage:
        """ONE page of app.bsky.feed.getAuthorFeed (`posts_with_replies`) of `user_id` (a DID
        or handle), newest first, reposts left out; loop on `next_token`. `since_id` (a post
        URI) ends the listing where it is met; `start_time`/`end_time` bound created_at (the
        page ends once a post is older than `start_time`)."""
        params = models.AppBskyFeedGetAuthorFeed.Params(
            actor=user_id,
            limit=max(1, min(max_results, 100)),
            cursor=pagination_token or None,
            filter="posts_with_replies",
        )
        answer = self._call(
            "GET /xrpc/app.bsky.feed.getAuthorFeed",
            lambda: self._client.invoke_query("app.bsky.feed.getAuthorFeed", params=params),
        )
        body = answer.content if isinstance(answer.content, dict) else None
        if body is None or not isinstance(body.get("feed"), list):
            raise ConnectorError("getAuthorFeed: the answer has no feed list")
        posts: list[RemotePost] = []
        problems: list[PayloadProblem] = []
        ended = False
        for item in body["feed"]:
            view = item.get("post") if isinstance(item, dict) else None
            if isinstance(item, dict) and item.get("reason"):
                continue  # a repost: not a post of ours
            parsed = parse_post_view(view)
            if isinstance(parsed, PayloadProblem):
                problems.append(parsed)
                continue
            if since_id and parsed.remote_id == since_id:
                ended = True
                break
            if start_time is not None and parsed.created_at < start_time:
                ended = True
                break
            if end_time is not None and parsed.created_at > end_time:
                continue
            posts.append(parsed)
        cursor = body.get("cursor")
        more = not ended and isinstance(cursor, str) and cursor and body["feed"]
        return PostPage(
            posts=posts,
            newest_id=posts[0].remote_id if posts else None,
            next_token=cursor if more else None,
            problems=problems,
        )

    def posts_lookup(self, ids: list[str]) -> PostPage:
        """app.bsky.feed.getPosts (25 URIs per request, at most 100 per lookup); URIs the
        AppView does not return (deleted, blocked, unknown) come back as `problems`."""
        if not ids:
            return PostPage(posts=[])
        if len(ids) > MAX_LOOKUP_IDS:
            raise Rejected(f"app.bsky.feed.getPosts: at most {MAX_LOOKUP_IDS} ids per lookup")
        found: dict[str, RemotePost] = {}
        problems: list[PayloadProblem] = []
        for start in range(0, len(ids), GET_POSTS_MAX):
            chunk = ids[start : start + GET_POSTS_MAX]
            params = models.AppBskyFeedGetPosts.Params(uris=chunk)
            answer = self._call(
                "GET /xrpc/app.bsky.feed.getPosts",
                lambda params=params: self._client.invoke_query(  # type: ignore[misc]
                    "app.bsky.feed.getPosts", params=params
                ),
            )
            body = answer.content if isinstance(answer.content, dict) else None
            if body is None or not isinstance(body.get("posts"), list):
                raise ConnectorError("getPosts: the answer has no posts list")
            for item in body["posts"]:
                parsed = parse_post_view(item)
                if isinstance(parsed, RemotePost):
                    found[parsed.remote_id] = parsed
                else:
                    problems.append(parsed)
        problems.extend(
            PayloadProblem(f"post {uri}: not found", {"uri": uri})
            for uri in ids
            if uri not in found
        )
        return PostPage(posts=[found[uri] for uri in ids if uri in found], problems=problems)

    # Writes

    def post_create(
        self, text: str, *, in_reply_to_id: str | None = None, rkey: str | None = None
    ) -> RemotePost:
        """com.atproto.repo.createRecord of an app.bsky.feed.post, threaded under
        `in_reply_to_id` (its strong ref as `reply.parent`, and the parent's own `reply.root`,
        else the parent, as `reply.root`: one getPosts first), with facets for @mentions and
        links (UTF-8 byte offsets).

        At most once: with `rkey` (the desk's key for this reply, `rkey_for`), a send that may
        have happened (a 5xx, a timeout or dropped connection after sending) is settled by
        reading the record back (com.atproto.repo.getRecord on our repo): there, with our
        text, it is returned (this attempt or an earlier one wrote it; the reference PDS
        answers a repeated key with a 500 and writes nothing); not there, nothing was written
        and Unreachable says so (retry later with the same rkey: safe); the read itself
        failing raises OutcomeUnknown. A record under `rkey` with another text is Rejected.
        Without `rkey`, such a send raises OutcomeUnknown as on X."""
        problem = text_problem(text)
        if problem is not None:
            raise Rejected(f"POST /xrpc/com.atproto.repo.createRecord: {problem} (not sent)")
        try:
            author = self.author()
            reply, known = self._reply_ref(in_reply_to_id) if in_reply_to_id else (None, {})
            facets = self._facets(text, known)
        except (Rejected, RateLimited, Unreachable):
            raise
        except ConnectorError as exc:
            # A read before the write failed (a timeout, a 5xx): nothing was sent, so the
            # desk may try again later instead of taking it for a refusal.
            raise Unreachable(f"before createRecord: {exc.detail} (nothing sent)") from None
        record = models.AppBskyFeedPost.Record(
            created_at=self._client.get_current_time_iso(),
            text=text,
            reply=reply,
            facets=facets or None,
        )
        data = models.ComAtprotoRepoCreateRecord.Data(
            repo=author.remote_id, collection=POST_COLLECTION, record=record, rkey=rkey
        )
        endpoint = "POST /xrpc/com.atproto.repo.createRecord"
        sent = get_model_as_dict(record)
        try:
            created = self._call(
                endpoint, lambda: self._client.com.atproto.repo.create_record(data), write=True
            )
        except OutcomeUnknown as exc:
            if rkey is None:
                raise
            return self._post_read_back(rkey, text, exc)
        return self._post_made(created.uri, created.cid, author, sent)

    def _post_made(
        self, uri: str, cid: str, author: RemoteUser, record: dict[str, Any]
    ) -> RemotePost:
        made = post_from_record(
            uri=uri,
            cid=cid,
            author_did=author.remote_id,
            author_handle=author.username,
            record=record,
            indexed_at=None,
            raw={"uri": uri, "cid": cid, "value": record},
        )
        if isinstance(made, PayloadProblem):
            raise OutcomeUnknown(f"createRecord: the post made cannot be read ({made.reason})")
        return made

    def _post_read_back(self, rkey: str, text: str, failed: OutcomeUnknown) -> RemotePost:
        author = self.author()
        params = models.ComAtprotoRepoGetRecord.Params(
            repo=author.remote_id, collection=POST_COLLECTION, rkey=rkey
        )
        try:
            found = self._call(
                "GET /xrpc/com.atproto.repo.getRecord",
                lambda: self._client.com.atproto.repo.get_record(params),
            )
        except Rejected as exc:
            if (
                exc.status == 400
                and isinstance(exc.body, dict)
                and exc.body.get("error") == ("RecordNotFound")
            ):
                raise Unreachable(
                    f"{failed.detail}; the record {rkey} is not in our repo: nothing was "
                    "written, a retry with the same rkey is safe",
                    status=failed.status,
                ) from None
            raise OutcomeUnknown(
                f"{failed.detail}; reading the record back failed ({exc.detail})",
                status=failed.status,
            ) from None
        except (ConnectorError, RateLimited) as exc:
            raise OutcomeUnknown(
                f"{failed.detail}; reading the record back failed ({exc.detail})",
                status=failed.status,
            ) from None
        value = found.value if isinstance(found.value, dict) else get_model_as_dict(found.value)
        if value.get("text") != text:
            raise Rejected(
                f"record key {rkey} already holds another post ({found.uri}): not ours to reuse"
            )
        return self._post_made(found.uri, found.cid or "", author, value)

    def _reply_ref(self, parent_uri: str) -> tuple[models.AppBskyFeedPost.ReplyRef, dict[str, str]]:
        """The parent's and root's strong refs, and the handles the thread names (for facets)."""
        page = self.posts_lookup([parent_uri])
        if not page.posts:
            reason = page.problems[0].reason if page.problems else "not found"
            raise Rejected(f"the post replied to is not readable: {reason}")
        parent = page.posts[0]
        cid = parent.raw.get("cid")
        if not isinstance(cid, str):
            raise Rejected(f"the post replied to has no cid: {parent_uri}")
        parent_ref = models.ComAtprotoRepoStrongRef.Main(uri=parent.remote_id, cid=cid)
        root_ref = parent_ref
        reply = parent.raw.get("record", {}).get("reply")
        if isinstance(reply, dict) and isinstance(reply.get("root"), dict):
            root_ref = lexicon_model(reply["root"], models.ComAtprotoRepoStrongRef.Main)
        known = {parent.author_username.lower(): parent.author_id}
        return models.AppBskyFeedPost.ReplyRef(parent=parent_ref, root=root_ref), known

    def _facets(self, text: str, known: dict[str, str]) -> list[models.AppBskyRichtextFacet.Main]:
        """Links (and tags) as the SDK detects them; @mentions of handles we can name a DID
        for (the thread's, else com.atproto.identity.resolveHandle; unresolved ones stay
        plain text, as in Bluesky's own app). Offsets are UTF-8 bytes."""
        facets = list(facet_detection.detect_facets(text))
        spans = {
            (m.byte_start, m.byte_end): m.handle for m in facet_detection.detect_mentions(text)
        }
        data = text.encode()
        for handle in known:  # handles of a reserved TLD (.example) the detector skips
            needle = f"@{handle}".encode()
            at = data.lower().find(needle)
            while at >= 0:
                end = at + len(needle)
                if end == len(data) or not regex.match(rb"[\w.\-]", data[end : end + 1]):
                    spans.setdefault((at, end), handle)
                at = data.lower().find(needle, end)
        for (start, end), handle in sorted(spans.items()):
            did = known.get(handle.lower()) or self._did_of(handle)
            if did is None:
                continue
            facets.append(
                models.AppBskyRichtextFacet.Main(
                    features=[models.AppBskyRichtextFacet.Mention(did=did)],
                    index=models.AppBskyRichtextFacet.ByteSlice(byte_start=start, byte_end=end),
                )
            )
        return sorted(facets, key=lambda facet: facet.index.byte_start)

    def _did_of(self, handle: str) -> str | None:
        try:
            answer = self._call(
                "GET /xrpc/com.atproto.identity.resolveHandle",
                lambda: self._client.com.atproto.identity.resolve_handle(
                    models.ComAtprotoIdentityResolveHandle.Params(handle=handle)
                ),
            )
        except Rejected:
            return None
        did = answer.did
        return did if isinstance(did, str) else None

    def post_delete(self, post_id: str) -> bool:
        """com.atproto.repo.deleteRecord of one of our posts (by URI); True once it is gone
        (deleting a record already gone is not an error on a PDS)."""
        authority, collection, rkey = uri_parts(post_id)
        author = self.author()
        if collection != POST_COLLECTION or authority not in (author.remote_id, author.username):
            raise Rejected(f"deleteRecord: {post_id} is not a post of {self.handle}")
        data = models.ComAtprotoRepoDeleteRecord.Data(
            repo=author.remote_id, collection=POST_COLLECTION, rkey=rkey
        )
        self._call(
            "POST /xrpc/com.atproto.repo.deleteRecord",
            lambda: self._client.com.atproto.repo.delete_record(data),
            write=True,
        )
        return True

    def like(self, user_id: str, post_id: str) -> bool:
        """An app.bsky.feed.like record with the post's strong ref (one getPosts for its cid).
        `user_id` must be the account's own DID, as on X."""
        author = self.author()
        if user_id not in (author.remote_id, author.username):
            raise Rejected(
                f"like: {user_id} is not the account of this session ({author.remote_id})"
            )
        page = self.posts_lookup([post_id])
        cid = page.posts[0].raw.get("cid") if page.posts else None
        if not isinstance(cid, str):
            raise Rejected(f"like: the post is not readable: {post_id}")
        record = models.AppBskyFeedLike.Record(
            created_at=self._client.get_current_time_iso(),
            subject=models.ComAtprotoRepoStrongRef.Main(uri=post_id, cid=cid),
        )
        data = models.ComAtprotoRepoCreateRecord.Data(
            repo=author.remote_id, collection=LIKE_COLLECTION, record=record
        )
        self._call(
            "POST /xrpc/com.atproto.repo.createRecord",
            lambda: self._client.com.atproto.repo.create_record(data),
            write=True,
        )
        return True

    def dm_events(self, *, pagination_token: str | None = None, max_results: int = 100) -> DmPage:
        """No direct messages are read on Bluesky in this version (chat is a separate
        service): always an empty page, without a request."""
        del pagination_token, max_results
        return DmPage(events=[])

    def dm_send(self, participant_id: str, text: str) -> dict[str, Any]:
        """Not on Bluesky in this version: chat is a separate service (chat.bsky.*, through
        the api.bsky.chat proxy), not the PDS. Raises Rejected; nothing is sent."""
        raise Rejected(
            "Bluesky direct messages are not supported: chat is a separate service (Bluesky "
            "Chat) that mentiondesk does not speak yet; answer in public or move the person "
            "to another channel"
        )
