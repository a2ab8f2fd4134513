"""Storing, refreshing and re-encrypting the handles' X credentials.

A handle's OAuth 2.0 user access token lasts two hours; with the `offline.access` scope it
comes with a refresh token that X accepts once, answering with the next pair. So the pair is
kept in the database (encrypted, crypto.py) and every refresh is done under a lock on the
handle's row: two workers seeing the same expired token refresh it once, and the second uses
the pair the first stored (spending the old refresh token twice would fail, and X may then
revoke the whole family).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mentiondesk.core.errors import DomainError

from ..connectors.x import TokenGrant, token_refresh
from ..models import Handle, HandleCredential
from . import crypto

logger = logging.getLogger(__name__)

# Refresh this long before X's expiry, so a call that starts just before it is not answered 401.
REFRESH_MARGIN = timedelta(minutes=2)


def credential_set(
    *,
    handle: Handle,
    access_token: str,
    refresh_token: str = "",
    expires_at: datetime | None = None,
    scope: str = "",
) -> HandleCredential:
    """Store `handle`'s credentials, encrypted with the first key, replacing any stored.

    Raises DomainError without an access token, CredentialsKeyError without a usable key."""
    access_token, refresh_token = access_token.strip(), refresh_token.strip()
    if not access_token:
        raise DomainError("an access token is needed")
    secret = crypto.secret_seal({"access_token": access_token, "refresh_token": refresh_token})
    credential, _ = HandleCredential.objects.update_or_create(
        handle=handle,
        defaults={
            "secret": secret,
            "expires_at": expires_at,
            "has_refresh_token": bool(refresh_token),
            "scope": scope,
            "refreshed_at": None,
        },
    )
    logger.info("stored X credentials of @%s", handle.username)
    return credential


def credential_clear(*, handle: Handle) -> bool:
    """Forget `handle`'s stored credentials (its `credentials_env` is used again); True if
    there were any."""
    deleted, _ = HandleCredential.objects.filter(handle=handle).delete()
    return bool(deleted)


@transaction.atomic
def credential_rekey() -> int:
    """Encrypt every stored secret again with the first key; returns how many. All or
    nothing: raises CredentialsKeyError naming the handle whose secret no key opens."""
    credentials = list(HandleCredential.objects.select_for_update().select_related("handle"))
    for credential in credentials:
        credential.secret = crypto.secret_rekey(credential.secret, owner=str(credential.handle))
        credential.save(update_fields=["secret", "updated_at"])
    return len(credentials)


def credential_access_token(*, handle: Handle) -> str | None:
    """`handle`'s stored access token, refreshed first when it expires within REFRESH_MARGIN;
    None when nothing is stored (its `credentials_env` applies).

    Raises CredentialsKeyError, DomainError (a refresh is due and impossible), or the
    connector's errors from the token endpoint (see `credential_refresh`)."""
    credential = HandleCredential.objects.filter(handle=handle).first()
    if credential is None:
        return None
    access_token = str(crypto.secret_open(credential.secret, owner=str(handle))["access_token"])
    if not _expiring(credential):
        return access_token
    return credential_refresh(handle=handle, rejected=access_token)


@transaction.atomic
def credential_refresh(*, handle: Handle, rejected: str) -> str:
    """A fresh access token for `handle`, whose token `rejected` expired or was refused.

    Locks the credential row for the whole exchange (on SQLite every atomic block takes the
    write lock). If the stored token is no longer `rejected` and still valid, another worker
    refreshed meanwhile and it is returned as is; otherwise the refresh token is traded at
    X's token endpoint and the new pair stored. Raises DomainError (nothing stored, no refresh
    token, MENTIONDESK_X_CLIENT_ID unset), CredentialsKeyError, and the connector's Rejected
    (X refused: the handle must be authorised again), Unreachable or ConnectorError."""
    credential = HandleCredential.objects.select_for_update().filter(handle=handle).first()
    if credential is None:
        raise DomainError(f"{handle}: no stored X credentials to refresh")
    values = crypto.secret_open(credential.secret, owner=str(handle))
    if values["access_token"] != rejected and not _expiring(credential):
        return str(values["access_token"])
    if not values.get("refresh_token"):
        raise DomainError(
            f"{handle}: the stored X access token expired and there is no refresh token "
            "(authorise with the offline.access scope, then `mentiondesk credentials set`)"
        )
    if not settings.X_CLIENT_ID:
        raise DomainError(
            f"{handle}: refreshing the X access token needs MENTIONDESK_X_CLIENT_ID "
            "(and MENTIONDESK_X_CLIENT_SECRET for a confidential client)"
        )
    grant = token_refresh(
        base_url=settings.X_API_URL,
        client_id=settings.X_CLIENT_ID,
        client_secret=settings.X_CLIENT_SECRET,
        refresh_token=str(values["refresh_token"]),
        timeout=settings.X_TIMEOUT_SECONDS,
    )
    _grant_store(credential, grant, previous_refresh=str(values["refresh_token"]))
    logger.info("refreshed the X access token of %s", handle)
    return grant.access_token


def _grant_store(credential: HandleCredential, grant: TokenGrant, *, previous_refresh: str) -> None:
    refresh_token = grant.refresh_token or previous_refresh
    credential.secret = crypto.secret_seal(
        {"access_token": grant.access_token, "refresh_token": refresh_token}
    )
    credential.expires_at = grant.expires_at
    credential.has_refresh_token = bool(refresh_token)
    credential.scope = grant.scope or credential.scope
    credential.refreshed_at = timezone.now()
    credential.save()


def _expiring(credential: HandleCredential) -> bool:
    return credential.expires_at is not None and (
        credential.expires_at <= timezone.now() + REFRESH_MARGIN
    )


# A Bluesky handle's session (access + refresh JWT, as the atproto SDK exports it) is kept in
# the same row, sealed the same way, with the service it was opened on: createSession is
# limited to 30 per 5 minutes and 300 per day, so every process reuses the newest session
# instead of logging in again. The app password itself stays in `credentials_env`.
SESSION_SCOPE = "bluesky-session"


def credential_session_get(*, handle: Handle) -> str | None:
    """`handle`'s stored Bluesky session, or None: none stored, one opened on another service
    than the handle's `base_url` now (the policy moved the handle), or no key to open it
    (the connector then logs in with the app password, as on a first run)."""
    credential = HandleCredential.objects.filter(handle=handle, scope=SESSION_SCOPE).first()
    if credential is None:
        return None
    try:
        values = crypto.secret_open(credential.secret, owner=str(handle))
    except crypto.CredentialsKeyError as exc:
        logger.warning("the stored Bluesky session of %s is not used: %s", handle, exc)
        return None
    session = values.get("session")
    if values.get("service") != handle.base_url or not isinstance(session, str):
        return None
    return session


def credential_session_clear(*, handle: Handle) -> bool:
    """Forget `handle`'s stored Bluesky session (its service changed); True if there was one.
    Stored X credentials are left alone."""
    deleted, _ = HandleCredential.objects.filter(handle=handle, scope=SESSION_SCOPE).delete()
    return bool(deleted)


def credential_session_store(*, handle: Handle, session: str) -> None:
    """Keep `handle`'s new Bluesky session (encrypted, with the service it belongs to). Without
    MENTIONDESK_CREDENTIALS_KEY nothing is stored (never in plaintext): each process then logs
    in once and keeps its session in memory."""
    try:
        secret = crypto.secret_seal({"session": session, "service": handle.base_url})
    except crypto.CredentialsKeyError as exc:
        logger.warning("the Bluesky session of %s is not stored: %s", handle, exc)
        return
    HandleCredential.objects.update_or_create(
        handle=handle,
        defaults={
            "secret": secret,
            "expires_at": None,
            "has_refresh_token": True,
            "scope": SESSION_SCOPE,
            "refreshed_at": timezone.now(),
        },
    )
