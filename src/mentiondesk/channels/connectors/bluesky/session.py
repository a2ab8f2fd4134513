"""Bluesky sessions (access + refresh JWT). com.atproto.server.createSession is limited to 30
per 5 minutes and 300 per day per account, so a connector logs in only when it has no session
at all (neither the one it was given nor one this process already holds), refreshes with
com.atproto.server.refreshSession when the access token expires, and hands every new session
to `on_session` so the desk can store it (encrypted) for the next process."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from atproto_client import Client
from atproto_client.client.session import Session, SessionEvent

from mentiondesk.channels.connectors.base import Rejected
from mentiondesk.channels.connectors.ratelimits import rate_limits_clear

_M = TypeVar("_M")


class _SessionBook:
    """What every connector of this process shares per (service, account): the newest session
    string (so a second connector never logs in again) and a lock taken for logins and
    refreshes. Spent windows, the account's own user and the clock skew are in the book every
    network shares (`connectors.ratelimits.BOOK`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, str], str] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}

    def account_lock(self, key: tuple[str, str]) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())

    def session_get(self, key: tuple[str, str]) -> str | None:
        with self._lock:
            return self._sessions.get(key)

    def session_put(self, key: tuple[str, str], session: str) -> None:
        with self._lock:
            self._sessions[key] = session

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()


SESSIONS = _SessionBook()


def bluesky_state_clear() -> None:
    """Forget every session, spent window and cached user of this process (tests only: the
    spent windows and users of every network, as a new process would)."""
    SESSIONS.clear()
    rate_limits_clear()


class SessionKeeping:
    """The session half of `BlueskyConnector`: a session imported, started, renewed and
    handed on. The connector provides the attributes and `_sdk` (one SDK call, its errors
    turned into ours)."""

    handle: str
    _client: Client
    _account: tuple[str, str]
    _password: str | None
    _session_given: str | None
    _on_session: Callable[[str], None] | None

    def _sdk(
        self, endpoint: str, call: Callable[[], _M], *, write: bool, renewing: bool = False
    ) -> _M:
        raise NotImplementedError

    def _session_changed(self, event: SessionEvent, session: Session) -> None:
        if event is SessionEvent.IMPORT:
            return  # what we were given or already hold: nothing new to store
        exported = session.export()
        SESSIONS.session_put(self._account, exported)
        if self._on_session is not None:
            self._on_session(exported)

    def _session_ready(self) -> None:
        """Import a session, or log in once when this process has none for the account."""
        if self._client._session is not None:
            return
        with SESSIONS.account_lock(self._account):
            known = SESSIONS.session_get(self._account) or self._session_given
            if known:
                self._client.login(session_string=known, fetch_bsky_profile=False)
                return
            self._login()

    def _login(self) -> None:
        """com.atproto.server.createSession: the rare call (30 per 5 min, 300 per day)."""
        if not self._password:
            raise Rejected(
                f"Bluesky {self.handle}: no session and no app password to start one", status=401
            )
        self._sdk(
            "POST /xrpc/com.atproto.server.createSession",
            lambda: self._client.login(self.handle, self._password, fetch_bsky_profile=False),
            write=False,
        )

    def _session_renew(self, stale: str | None) -> None:
        """The PDS no longer takes our access token: adopt a newer session of this process,
        else refresh, else (the refresh token is dead too) log in."""
        with SESSIONS.account_lock(self._account):
            newest = SESSIONS.session_get(self._account)
            if newest and newest != stale:
                self._client.login(session_string=newest, fetch_bsky_profile=False)
                return
            current = Session.decode(stale) if stale else None
            if current is not None:
                try:
                    refreshed = self._sdk(
                        "POST /xrpc/com.atproto.server.refreshSession",
                        lambda: self._client.com.atproto.server.refresh_session(
                            headers={"Authorization": f"Bearer {current.refresh_jwt}"},
                            ignore_session_check=True,
                        ),
                        write=False,
                    )
                except Rejected as exc:
                    if exc.status not in (400, 401):
                        raise
                else:
                    renewed = Session(
                        handle=refreshed.handle,
                        did=refreshed.did,
                        access_jwt=refreshed.access_jwt,
                        refresh_jwt=refreshed.refresh_jwt,
                        pds_endpoint=current.pds_endpoint,
                    )
                    self._client.login(session_string=renewed.export(), fetch_bsky_profile=False)
                    self._session_changed(SessionEvent.REFRESH, renewed)
                    return
            self._login()

    def _session_string(self) -> str | None:
        session = self._client._session
        return session.export() if session is not None else None
