"""Our handles' connections to their network: a connector with the handle's credentials, metered
for the costs page, and the handle's remote id. The ingest itself is intake's (intake/ingest.py)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from mentiondesk.core.errors import DomainError
from mentiondesk.costs.services import UsageMeter

from .connectors import network_unsupported_reason
from .connectors.base import Rejected
from .connectors.x import XConnector
from .constants import CREDENTIALS_ENV
from .credentials import services as credential_services
from .models import Handle

logger = logging.getLogger(__name__)


def handle_connector(*, handle: Handle) -> XConnector:
    """A connector speaking as `handle`: with its stored credentials when it has some
    (refreshed when they expire or X answers 401), else with the token in its
    `credentials_env` variable.

    Raises DomainError naming what is missing: a connector for the handle's network, the
    variable, or MENTIONDESK_CREDENTIALS_KEY (or one that opens the stored secret); the
    connector's errors when a due refresh fails."""
    _handle_network_check(handle=handle)
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
    if not handle.credentials_env:
        raise DomainError(
            f"@{handle.username} has no stored credentials (`mentiondesk credentials set`) "
            "and no credentials_env in the policy file"
        )
    if not CREDENTIALS_ENV.match(handle.credentials_env):
        # A handle stored before `policy apply` checked the name: never send another
        # variable's value (PATH, MENTIONDESK_SECRET_KEY) to the network as a token.
        raise DomainError(
            f"@{handle.username}: credentials_env {handle.credentials_env} is not a handle's "
            "secret (MENTIONDESK_X_TOKEN_<NAME>); apply a policy that names one"
        )
    token = os.environ.get(handle.credentials_env, "")
    if not token:
        raise DomainError(
            f"@{handle.username}: environment variable {handle.credentials_env} is not set"
        )
    return XConnector(base_url=settings.X_API_URL, token=token, timeout=settings.X_TIMEOUT_SECONDS)


def _handle_network_check(*, handle: Handle) -> None:
    # A handle row on another network (applied before the policy refused such networks, or
    # written by hand) must never be polled or answered through the X connector.
    reason = network_unsupported_reason(handle.network)
    if reason is not None:
        raise DomainError(f"@{handle.username}: {reason}")


@contextmanager
def handle_connection(
    *, handle: Handle, connector: XConnector | None = None, ticket_id: int | None = None
) -> Iterator[XConnector]:
    """`connector` as is (the caller closes it), or a new one for `handle`, closed on exit.

    Every X call made inside is metered for `handle` (and `ticket_id`, when the work is for
    one ticket), written in one batch on exit, whatever the outcome (costs.UsageMeter).
    Raises DomainError for a handle on a network without a connector."""
    _handle_network_check(handle=handle)
    meter = UsageMeter(handle=handle, ticket_id=ticket_id)
    x = connector or handle_connector(handle=handle)
    try:
        with x.recording(meter):
            yield x
    finally:
        try:
            meter.flush()
        except Exception:  # a lost meter batch must not undo a done send or poll
            logger.exception("X usage of @%s not recorded", handle.username)
        if connector is None:
            x.close()


def handle_resolve_remote_id(*, handle: Handle, connector: XConnector | None = None) -> Handle:
    """Fill in `handle.remote_id` by looking the username up on the network, once."""
    if handle.remote_id:
        return handle
    if connector is None:  # a connection of its own, metered and closed like any other
        with handle_connection(handle=handle) as x:
            return handle_resolve_remote_id(handle=handle, connector=x)
    user = connector.user_by_username(handle.username)
    handle.remote_id = user.remote_id
    handle.save(update_fields=["remote_id"])
    return handle
