"""Our handles' connections to their network: a connector with the handle's credentials, metered
by the caller's meter (costs.UsageMeter, built one floor up), and the handle's remote id. The
ingest itself is intake's (intake/ingest.py, intake/store.py)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

from django.conf import settings

from mentiondesk.core.errors import DomainError

from .connectors import network_connector_class, network_facts, network_unsupported_reason
from .connectors.base import CallReport, Connector, ConnectorError, Rejected
from .connectors.x import XConnector
from .constants import CREDENTIALS_ENV
from .credentials import services as credential_services
from .models import Handle, Network

logger = logging.getLogger(__name__)


class Meter(Protocol):
    """What `handle_connection` needs of a usage meter (costs.UsageMeter): a recorder of each
    call, and a flush that writes what it recorded."""

    def __call__(self, report: CallReport) -> None: ...

    def flush(self) -> object: ...


def handle_connector(*, handle: Handle) -> Connector:
    """A connector speaking as `handle` on its network (`connectors.NETWORKS`).

    X: with its stored credentials when it has some (refreshed when they expire or X answers
    401), else with the token in its `credentials_env` variable. Mastodon: the instance at
    `base_url` with the access token in `credentials_env`. Bluesky: the service at
    `base_url` as `username`, with its stored session (encrypted, see
    `credential_session_get`) and the app password in `credentials_env` for when it has
    none; every new session is stored again.

    Raises DomainError naming what is missing: a connector for the handle's network, its
    base URL, the variable, or MENTIONDESK_CREDENTIALS_KEY (or one that opens the stored
    secret); the connector's errors when a due refresh fails."""
    _handle_network_check(handle=handle)
    connector_class = network_connector_class(handle.network)
    connector: Connector
    if handle.network == Network.MASTODON:
        connector = connector_class(
            base_url=_handle_base_url(handle=handle),
            token=_handle_secret(handle=handle),
            timeout=settings.X_TIMEOUT_SECONDS,
            rate_key=f"handle:{handle.network}:{handle.pk}",
        )
        return connector
    if handle.network == Network.BLUESKY:

        def on_session(session: str) -> None:
            credential_services.credential_session_store(handle=handle, session=session)

        connector = connector_class(
            service=_handle_base_url(handle=handle),
            handle=handle.username,
            password=_handle_secret(handle=handle),
            session=credential_services.credential_session_get(handle=handle),
            on_session=on_session,
            timeout=settings.X_TIMEOUT_SECONDS,
        )
        return connector
    stored = credential_services.credential_access_token(handle=handle)
    if stored is not None:

        def refresh(rejected: str) -> str:
            try:
                return credential_services.credential_refresh(handle=handle, rejected=rejected)
            except DomainError as exc:  # the caller sees X's 401 with the reason behind it
                raise Rejected(f"401 Unauthorized; {exc.message}", status=401) from None

        return XConnector(
            base_url=settings.X_API_URL,
            token=stored,
            timeout=settings.X_TIMEOUT_SECONDS,
            refresh=refresh,
            rate_key=f"stored-credentials:{handle.network}:{handle.pk}",
        )
    return XConnector(
        base_url=settings.X_API_URL,
        token=_handle_secret(handle=handle),
        timeout=settings.X_TIMEOUT_SECONDS,
    )


def _handle_base_url(*, handle: Handle) -> str:
    if not handle.base_url:
        key = "instance" if handle.network == Network.MASTODON else "service"
        raise DomainError(
            f"@{handle.username}: no {network_facts(handle.network).label} {key} URL; apply a "
            f'policy that names one (`{key} = "https://…"`)'
        )
    return handle.base_url


def _handle_secret(*, handle: Handle) -> str:
    """The value of `handle`'s `credentials_env` variable: its token (X, Mastodon) or app
    password (Bluesky)."""
    prefix = network_facts(handle.network).credentials_prefix
    if not handle.credentials_env:
        stored = " (`mentiondesk credentials set`)" if handle.network == Network.X else ""
        raise DomainError(
            f"@{handle.username} has no stored credentials{stored} and no credentials_env in "
            "the policy file"
        )
    if not CREDENTIALS_ENV.match(handle.credentials_env) or not handle.credentials_env.startswith(
        prefix
    ):
        # A handle stored before `policy apply` checked the name: never send another
        # variable's value (PATH, MENTIONDESK_SECRET_KEY, another network's secret) to the
        # network as a token.
        raise DomainError(
            f"@{handle.username}: credentials_env {handle.credentials_env} is not a handle's "
            f"secret ({prefix}<NAME>); apply a policy that names one"
        )
    secret = os.environ.get(handle.credentials_env, "")
    if not secret:
        raise DomainError(
            f"@{handle.username}: environment variable {handle.credentials_env} is not set"
        )
    return secret


def _handle_network_check(*, handle: Handle) -> None:
    # A handle row on another network (applied before the policy refused such networks, or
    # written by hand) must never be polled or answered through the X connector.
    reason = network_unsupported_reason(handle.network)
    if reason is not None:
        raise DomainError(f"@{handle.username}: {reason}")


@contextmanager
def handle_connection(
    *, handle: Handle, meter: Meter, connector: Connector | None = None
) -> Iterator[Connector]:
    """`connector` as is (the caller closes it), or a new one for `handle`, closed on exit.

    On a billed network (X), every call made inside is recorded by `meter` (the caller's:
    costs.UsageMeter for `handle`, and for the ticket when the work is for one), flushed in
    one batch on exit, whatever the outcome. Calls to the others cost nothing and are not
    recorded: the meter's kinds and prices are X's. Raises DomainError for a handle on a
    network without a connector."""
    _handle_network_check(handle=handle)
    x = connector or handle_connector(handle=handle)
    recorder = meter if network_facts(handle.network).billed else _unmetered
    try:
        with x.recording(recorder):
            yield x
    finally:
        try:
            meter.flush()
        except Exception:  # a lost meter batch must not undo a done send or poll
            logger.exception("usage of @%s not recorded", handle.username)
        if connector is None:
            x.close()


def _unmetered(report: CallReport) -> None:
    """The recorder of a network whose calls cost nothing: the call is not metered."""


def handle_resolve_remote_id(*, handle: Handle, connector: Connector) -> Handle:
    """Fill in `handle.remote_id` by looking the username up on the network, once, through
    `connector` (a `handle_connection`, so the lookup is metered)."""
    if handle.remote_id:
        return handle
    user = connector.user_by_username(handle.username)
    handle.remote_id = user.remote_id
    handle.save(update_fields=["remote_id"])
    return handle


@runtime_checkable
class _TextLimitReader(Protocol):
    """A connector whose server says how long a post may be (Mastodon's instance; Bluesky's
    fixed rule). X's limit is the network's own, in `NetworkFacts.text_limit`."""

    def text_limit(self) -> int: ...


def handle_text_limit_learn(*, handle: Handle, connector: Connector) -> Handle:
    """Store on `handle` the longest post its server takes, when its connector can ask (a
    Mastodon instance's `max_characters`, read once per process and instance), so the web
    processes count replies against it without calling the network. Writes only a change.
    A failed read keeps what was known (the network's default when nothing was): logged,
    never raised, so it cannot stop the poll that asks."""
    if not isinstance(connector, _TextLimitReader):
        return handle
    try:
        limit = connector.text_limit()
    except ConnectorError:
        logger.warning("@%s: the server's post length limit could not be read", handle.username)
        return handle
    if limit != handle.text_limit:
        handle.text_limit = limit
        handle.save(update_fields=["text_limit"])
    return handle
