"""The sandbox's OAuth 2.0 token endpoint and expiring access tokens, as X answers them.
Plain HTTP (httpx) against a running server."""

from __future__ import annotations

import httpx

from mentiondesk.sandbox.x.server import SandboxServer

CLIENT_ID = "cGxhaW4tY2xpZW50LWlk"
SECRET = "confidential-secret"
TOKEN_PATH = "/2/oauth2/token"


def _refresh(
    server: SandboxServer, refresh_token: str, *, auth: tuple[str, str] | None = (CLIENT_ID, SECRET)
) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if auth is None:
        data["client_id"] = CLIENT_ID
    return httpx.post(f"{server.url}{TOKEN_PATH}", data=data, auth=auth)


def test_refresh_answers_x_shape_and_spends_the_refresh_token(sandbox: SandboxServer) -> None:
    sandbox.store.oauth_client_add(CLIENT_ID, SECRET)
    first = sandbox.store.oauth_grant("Driftwood", CLIENT_ID)

    answer = _refresh(sandbox, first["refresh_token"])

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert list(body) == ["token_type", "expires_in", "access_token", "scope", "refresh_token"]
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 7200
    assert "offline.access" in body["scope"].split()
    assert body["refresh_token"] != first["refresh_token"]
    me = httpx.get(
        f"{sandbox.url}/2/users/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json()["data"]["username"] == "Driftwood"

    again = _refresh(sandbox, first["refresh_token"])
    assert again.status_code == 400
    assert again.json() == {
        "error": "invalid_request",
        "error_description": "Value passed for the token was invalid.",
    }


def test_a_confidential_client_must_authenticate_with_basic(sandbox: SandboxServer) -> None:
    sandbox.store.oauth_client_add(CLIENT_ID, SECRET)
    grant = sandbox.store.oauth_grant("Driftwood", CLIENT_ID)
    for auth in (None, (CLIENT_ID, "wrong")):
        answer = _refresh(sandbox, grant["refresh_token"], auth=auth)
        assert answer.status_code == 401
        assert answer.json() == {
            "error": "unauthorized_client",
            "error_description": "Missing valid authorization header",
        }
    assert _refresh(sandbox, grant["refresh_token"]).status_code == 200, "nothing was spent"


def test_a_public_client_names_itself_in_the_body(sandbox: SandboxServer) -> None:
    sandbox.store.oauth_client_add(CLIENT_ID)
    grant = sandbox.store.oauth_grant("Driftwood", CLIENT_ID)
    assert _refresh(sandbox, grant["refresh_token"], auth=None).status_code == 200


def test_without_offline_access_there_is_no_refresh_token(sandbox: SandboxServer) -> None:
    sandbox.store.oauth_client_add(CLIENT_ID, SECRET)
    grant = sandbox.store.oauth_grant("Driftwood", CLIENT_ID, scope="tweet.read users.read")
    assert "refresh_token" not in grant


def test_an_expired_access_token_gets_x_401(sandbox: SandboxServer) -> None:
    sandbox.store.oauth_client_add(CLIENT_ID, SECRET)
    grant = sandbox.store.oauth_grant("Driftwood", CLIENT_ID)
    headers = {"Authorization": f"Bearer {grant['access_token']}"}
    assert httpx.get(f"{sandbox.url}/2/users/me", headers=headers).status_code == 200

    sandbox.store.oauth_expire(grant["access_token"])
    answer = httpx.get(f"{sandbox.url}/2/users/me", headers=headers)

    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == {
        "title": "Unauthorized",
        "detail": "Unauthorized",
        "type": "about:blank",
        "status": 401,
    }
    assert "x-rate-limit-limit" not in answer.headers


def test_control_api_grants_and_expires_tokens(sandbox: SandboxServer) -> None:
    control = httpx.Client(base_url=sandbox.url)
    assert control.post("/_sandbox/oauth/clients", json={"client_id": CLIENT_ID}).status_code == 201
    grant = control.post(
        "/_sandbox/oauth/grants",
        json={"username": "Driftwood", "client_id": CLIENT_ID, "expires_in": 60},
    ).json()
    assert grant["expires_in"] == 60
    assert sandbox.store.user_for_token(grant["access_token"]) is not None
    control.post("/_sandbox/oauth/expire", json={"access_token": grant["access_token"]})
    assert sandbox.store.user_for_token(grant["access_token"]) is None
