"""The httpx transport under the `atproto` SDK's client: it sees every request the SDK makes
(logins and refreshes included), which the SDK's own API does not expose, so the usage
recorder, the shared rate-limit book (`connectors.ratelimits`) and the clock skew see them
too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from mentiondesk.channels.connectors.base import CallReport, ConnectorBase
from mentiondesk.channels.connectors.payload import (
    clock_skew_measure,
    header_number,
    json_or_none,
)
from mentiondesk.channels.connectors.ratelimits import (
    BOOK,
    rate_limit_check,
    rate_limit_remember,
)

# Without a `ratelimit-reset` on a 429, wait one PDS window (5 minutes).
DEFAULT_RESET_WAIT = timedelta(minutes=5)
# Secrets in what we send or receive: never handed to the usage recorder.
_SECRET_FIELDS = frozenset({"password", "accessJwt", "refreshJwt", "authFactorToken"})


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "***" if k in _SECRET_FIELDS else v for k, v in value.items()}
    return value


class RecordingTransport(httpx.BaseTransport):
    """Reports each request that left to `connector`'s recorder, refuses (RateLimited, nothing
    sent) a call to an endpoint whose window is spent, and remembers the window of each answer
    from its `ratelimit-*` headers, in the book every connector shares: keyed by (service,
    `account_key`, endpoint), where processes also take turns, one call at a time per account
    and endpoint, as on X and Mastodon."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        connector: ConnectorBase,
        service: str,
        account_key: str,
        turn_wait: float,
    ) -> None:
        self._inner = inner
        self._connector = connector
        self._service = service
        self._account_key = account_key
        self._turn_wait = turn_wait

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        endpoint = f"{request.method} {path[path.find('/xrpc/') :] if '/xrpc/' in path else path}"
        key = (self._service, self._account_key, endpoint)
        with BOOK.turn(key, self._turn_wait):
            rate_limit_check(key, endpoint=endpoint)
            return self._exchange(request, endpoint, key)

    def _exchange(
        self, request: httpx.Request, endpoint: str, key: tuple[str, str, str]
    ) -> httpx.Response:
        sent = _without_secrets(json_or_none(request.read()))
        sent_at = datetime.now(UTC)
        try:
            response = self._inner.handle_request(request)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
            raise  # never left: nothing to report
        except httpx.TransportError:
            self._connector._report(CallReport(endpoint, None, sent=sent))
            raise
        try:
            raw = b"".join(response.stream)  # type: ignore[arg-type]
        finally:
            response.close()
        answer = httpx.Response(
            response.status_code,
            headers=response.headers,
            content=raw,
            request=request,
            extensions=response.extensions,
        )
        body = _without_secrets(json_or_none(answer.read()))
        self._connector._report(CallReport(endpoint, answer.status_code, body=body, sent=sent))
        # The server's clock minus ours: reconciliation bounds its search windows with it, and
        # a reset is announced on the server's clock.
        skew = clock_skew_measure(answer.headers, sent_at=sent_at, received_at=datetime.now(UTC))
        if skew is not None:
            BOOK.skew_put(self._service, skew)
        self._remember(key, answer)
        return answer

    @staticmethod
    def _remember(key: tuple[str, str, str], response: httpx.Response) -> None:
        """`ratelimit-remaining: 0` or a 429 blocks the endpoint until `ratelimit-reset`
        (epoch seconds) for every connector of this account."""
        headers = response.headers
        limit = header_number(headers, "ratelimit-limit")
        remaining = header_number(headers, "ratelimit-remaining")
        reset = header_number(headers, "ratelimit-reset")
        if response.status_code == 429:
            remaining = 0
        elif limit is None and remaining is None and reset is None:
            return
        reset_at = datetime.fromtimestamp(reset, UTC) if reset is not None else None
        if remaining == 0 and reset_at is None:
            reset_at = datetime.now(UTC) + DEFAULT_RESET_WAIT
        rate_limit_remember(key, limit=limit, remaining=remaining, reset_at=reset_at)

    def close(self) -> None:
        self._inner.close()
