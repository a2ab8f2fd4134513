"""X's OAuth 2.0: trading a refresh token for a new user access token."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError

from mentiondesk import __version__
from mentiondesk.channels.connectors.base import ConnectorError, Rejected, Unreachable

from .parse import url_shown

TOKEN_ENDPOINT = "POST /2/oauth2/token"  # noqa: S105 - an endpoint name, not a secret


@dataclass(frozen=True)
class TokenGrant:
    """What X's token endpoint granted. The tokens never appear in a repr."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime | None
    scope: str


def token_refresh(
    *,
    base_url: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    timeout: float = 10.0,
) -> TokenGrant:
    """Trade `refresh_token` for a new pair at POST {base_url}/2/oauth2/token.

    X's refresh tokens are single-use: the answer carries the next one, and the one sent is
    spent once X has answered. A confidential client authenticates with HTTP Basic (X answers
    401 "Missing valid authorization header" without it); a public one, without a secret,
    sends `client_id` in the body
    (https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code).
    Raises Rejected (X refused: a spent or revoked refresh token, a wrong client), Unreachable
    (nothing sent), or ConnectorError (no readable answer: the refresh token may be spent).
    """
    url = f"{base_url.rstrip('/')}/2/oauth2/token"
    session = OAuth2Session(
        client_id=client_id,
        client_secret=client_secret or None,
        token_endpoint_auth_method="client_secret_basic" if client_secret else "none",
    )
    session.headers["User-Agent"] = f"mentiondesk/{__version__}"
    try:
        with session:
            token = session.refresh_token(url, refresh_token=refresh_token, timeout=timeout)
    except OAuthError as exc:
        # `error` and `error_description` only: never the request, which holds the token.
        raise Rejected(
            f"{TOKEN_ENDPOINT}: X refused the refresh ({exc.error}: {exc.description or '-'})",
            status=400,
        ) from None
    except requests.ConnectionError:  # connect timeouts included
        raise Unreachable(f"{TOKEN_ENDPOINT}: cannot reach {url_shown(base_url)}") from None
    except requests.Timeout:
        raise ConnectorError(
            f"{TOKEN_ENDPOINT}: no answer from {url_shown(base_url)} in time"
        ) from None
    except (requests.RequestException, ValueError) as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        raise ConnectorError(
            f"{TOKEN_ENDPOINT}: unreadable answer ({status or type(exc).__name__})",
            status=status,
        ) from None
    access, refresh = token.get("access_token"), token.get("refresh_token")
    if not isinstance(access, str) or not access:
        raise ConnectorError(f"{TOKEN_ENDPOINT}: the answer has no access_token")
    expires_in = token.get("expires_in")
    return TokenGrant(
        access_token=access,
        # authlib keeps the token sent when the answer has none
        refresh_token=refresh if isinstance(refresh, str) else "",
        expires_at=(
            datetime.now(UTC) + timedelta(seconds=int(expires_in))
            if isinstance(expires_in, int | float) or str(expires_in).isdigit()
            else None
        ),
        scope=str(token.get("scope") or ""),
    )
