"""Bluesky's errors as the desk's: what the `atproto` SDK and httpx raise for one call, turned
into the errors of `connectors.base`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from atproto_client.exceptions import (
    AtProtocolError,
    ModelError,
    RateLimitExceededError,
    RequestErrorBase,
)
from atproto_client.models.common import XrpcError

from mentiondesk.channels.connectors.base import (
    ConnectorError,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    Unreachable,
)
from mentiondesk.channels.connectors.payload import json_or_none

from .transport import DEFAULT_RESET_WAIT

_M = TypeVar("_M")
# Errors the PDS answers for an access token it no longer takes (400 or 401).
_TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})


class TokenRefused(ConnectorError):
    """The PDS no longer takes the access token (ExpiredToken, InvalidToken)."""


@dataclass
class _Failure:
    """What an SDK error says, read once."""

    status: int | None
    error: str
    message: str
    body: Any = field(default=None)


def _failure(exc: RequestErrorBase) -> _Failure:
    response = exc.response
    if response is None:
        return _Failure(None, "", "")
    content = response.content
    if isinstance(content, XrpcError):
        return _Failure(
            response.status_code,
            content.error,
            content.message or "",
            {"error": content.error, "message": content.message},
        )
    return _Failure(
        response.status_code,
        "",
        "",
        json_or_none(content) if isinstance(content, bytes) else content,
    )


def sdk_run(
    endpoint: str, call: Callable[[], _M], *, service: str, write: bool, renewing: bool = False
) -> _M:
    """Run `call` (one SDK call to `endpoint` at `service`), turning the SDK's and httpx's
    errors into ours; TokenRefused when `renewing` and the PDS no longer takes the access
    token."""
    try:
        return call()
    except ConnectorError:
        raise  # refused locally by the transport (a spent window)
    except RateLimitExceededError as exc:
        failure = _failure(exc)
        raise RateLimited(
            f"{endpoint}: {failure.message or 'Rate Limit Exceeded'}",
            reset_at=exc.reset_at or datetime.now(UTC) + DEFAULT_RESET_WAIT,
            status=429,
            body=failure.body,
        ) from None
    except RequestErrorBase as exc:
        failure = _failure(exc)
        if failure.status is None:
            raise _transport_error(endpoint, exc, service=service, write=write) from None
        detail = f"{endpoint}: {failure.status} {failure.error or ''} {failure.message}"
        detail = " ".join(detail.split())
        if failure.status in (400, 401) and failure.error in _TOKEN_ERRORS and renewing:
            raise TokenRefused(detail) from None
        if failure.status >= 500:
            error = OutcomeUnknown if write else ConnectorError
            raise error(detail, status=failure.status, body=failure.body) from None
        raise Rejected(detail, status=failure.status, body=failure.body) from None
    except httpx.TransportError as exc:  # what the SDK lets through (a dropped connection)
        raise _transport_error(endpoint, exc, service=service, write=write) from None
    except ModelError as exc:
        error = OutcomeUnknown if write else ConnectorError
        raise error(f"{endpoint}: the answer breaks the lexicon ({exc})"[:500]) from None
    except AtProtocolError as exc:
        raise ConnectorError(f"{endpoint}: {type(exc).__name__}: {exc}"[:500]) from None


def _transport_error(
    endpoint: str, exc: BaseException, *, service: str, write: bool
) -> ConnectorError:
    cause = exc if isinstance(exc, httpx.TransportError) else exc.__cause__
    if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return Unreachable(f"{endpoint}: cannot reach {service} ({cause})")
    if isinstance(cause, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return Unreachable(f"{endpoint}: bad Bluesky service URL {service}")
    # The request left: a read timeout or a dropped connection says nothing about whether
    # the PDS acted on it.
    error = OutcomeUnknown if write else ConnectorError
    name = type(cause).__name__ if cause is not None else type(exc).__name__
    return error(f"{endpoint}: no answer ({name})")
