"""Handles' X credentials stored encrypted, and refreshed through X's token endpoint.

Real databases (the raw column is read with SQL), the sandbox network as the only stand-in:
its token endpoint answers as X's does, and it answers 401 to an access token whose two
hours have passed."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from mentiondesk.accounts import services as account_services
from mentiondesk.channels import services as channel_services
from mentiondesk.channels.connectors.base import Rejected
from mentiondesk.channels.connectors.x import XConnector, token_refresh
from mentiondesk.channels.credentials import crypto
from mentiondesk.channels.credentials import services as credentials
from mentiondesk.channels.models import Handle, HandleCredential
from mentiondesk.costs.services import UsageMeter
from mentiondesk.intake import ingest
from mentiondesk.replies import services as reply_services
from mentiondesk.replies.models import Reply
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.sandbox.x.store import OAuthRefused, SandboxStore
from mentiondesk.tickets.models import Ticket
from tests.processes import command_env, mentiondesk

CLIENT_ID = "ZHJpZnR3b29kLWRlc2s"
CLIENT_SECRET = "s3cr3t-of-the-desk-app"
KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


@pytest.fixture
def oauth(desk: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The desk as a confidential OAuth 2.0 client of the sandbox, with a credentials key,
    and without the environment tokens: what it uses must come from the database."""
    desk.store.oauth_client_add(CLIENT_ID, CLIENT_SECRET)
    monkeypatch.setattr(settings, "X_CLIENT_ID", CLIENT_ID)
    monkeypatch.setattr(settings, "X_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setattr(settings, "CREDENTIALS_KEY", KEY_A)
    monkeypatch.delenv("MENTIONDESK_X_TOKEN_DRIFTWOOD")
    return desk


def _store(sandbox: SandboxServer, *, expires_in: int = 7200) -> dict[str, Any]:
    """Authorise @Driftwood at the sandbox and store what the token endpoint answered."""
    answer = sandbox.store.oauth_grant("Driftwood", CLIENT_ID, expires_in=expires_in)
    credentials.credential_set(
        handle=Handle.objects.get(username="Driftwood"),
        access_token=answer["access_token"],
        refresh_token=answer["refresh_token"],
        expires_at=timezone.now() + timedelta(seconds=expires_in),
        scope=answer["scope"],
    )
    return answer


def _raw_rows() -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM channels_handlecredential")
        return list(cursor.fetchall())


def _stored(handle: str = "Driftwood") -> dict[str, Any]:
    credential = HandleCredential.objects.get(handle__username=handle)
    return crypto.secret_open(credential.secret, owner=handle)


def _token_calls(sandbox: SandboxServer) -> int:
    return sum(1 for r in sandbox.store.request_log() if r.path == "/2/oauth2/token")


# Encryption at rest


def test_the_database_never_holds_a_token_in_plain(oauth: SandboxServer) -> None:
    answer = _store(oauth)
    rows = _raw_rows()
    assert len(rows) == 1
    dumped = repr(rows)
    assert answer["access_token"] not in dumped
    assert answer["refresh_token"] not in dumped
    assert _stored() == {
        "access_token": answer["access_token"],
        "refresh_token": answer["refresh_token"],
    }


def test_stored_credentials_are_used_instead_of_the_environment(oauth: SandboxServer) -> None:
    oauth.store.mention_add("maya", "@Driftwood is CI down?")
    _store(oauth)
    result = ingest.handle_poll(handle=Handle.objects.get(username="Driftwood"))
    assert result.error == ""
    assert result.stored == 1


def test_without_stored_credentials_the_environment_variable_still_works(
    desk: SandboxServer,
) -> None:
    desk.store.mention_add("maya", "@Driftwood is CI down?")
    result = ingest.handle_poll(handle=Handle.objects.get(username="Driftwood"))
    assert (result.error, result.stored) == ("", 1)


def test_a_second_key_decrypts_and_rekey_moves_every_secret_to_the_first(
    oauth: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = _store(oauth)
    (before,) = _raw_rows()
    monkeypatch.setattr(settings, "CREDENTIALS_KEY", f"{KEY_B}, {KEY_A}")
    assert _stored()["access_token"] == answer["access_token"]  # the old key still decrypts
    assert credentials.credential_rekey() == 1
    (after,) = _raw_rows()
    assert before != after
    assert answer["access_token"] not in repr(after)
    monkeypatch.setattr(settings, "CREDENTIALS_KEY", KEY_B)  # the old key dropped
    assert _stored()["access_token"] == answer["access_token"]
    monkeypatch.setattr(settings, "CREDENTIALS_KEY", KEY_A)
    with pytest.raises(crypto.CredentialsKeyError, match="cannot be decrypted with any key"):
        _stored()


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "MENTIONDESK_CREDENTIALS_KEY is not set"),
        ("not-a-key", "MENTIONDESK_CREDENTIALS_KEY: key 1 of 1 is not a Fernet key"),
        (f"{KEY_A},short", "MENTIONDESK_CREDENTIALS_KEY: key 2 of 2 is not a Fernet key"),
    ],
)
def test_a_missing_or_malformed_key_is_named_where_it_is_needed(
    oauth: SandboxServer, monkeypatch: pytest.MonkeyPatch, key: str, message: str
) -> None:
    monkeypatch.setattr(settings, "CREDENTIALS_KEY", key)
    handle = Handle.objects.get(username="Driftwood")
    with pytest.raises(crypto.CredentialsKeyError) as raised:
        credentials.credential_set(handle=handle, access_token="abc")
    assert message in raised.value.message
    assert "not-a-key" not in raised.value.message, "a key never appears in a message"
    assert not HandleCredential.objects.exists()


def test_a_wrong_key_ends_the_poll_with_a_clear_reason(
    oauth: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(oauth)
    monkeypatch.setattr(settings, "CREDENTIALS_KEY", KEY_B)
    result = ingest.handle_poll(handle=Handle.objects.get(username="Driftwood"))
    assert "@Driftwood: the stored X credentials cannot be decrypted" in result.error
    assert "MENTIONDESK_CREDENTIALS_KEY" in result.error
    monkeypatch.setattr(settings, "CREDENTIALS_KEY", "")
    result = ingest.handle_poll(handle=Handle.objects.get(username="Driftwood"))
    assert "MENTIONDESK_CREDENTIALS_KEY is not set" in result.error


# Refresh


def test_an_expired_token_is_refreshed_once_and_the_new_pair_is_used(oauth: SandboxServer) -> None:
    first = _store(oauth, expires_in=60)  # inside the refresh margin: due now
    oauth.store.oauth_expire(first["access_token"])
    oauth.store.mention_add("maya", "@Driftwood is CI down?")
    handle = Handle.objects.get(username="Driftwood")

    result = ingest.handle_poll(handle=handle)

    assert (result.error, result.stored) == ("", 1)
    assert _token_calls(oauth) == 1
    stored = _stored()
    assert stored["access_token"] != first["access_token"]
    assert stored["refresh_token"] != first["refresh_token"]
    credential = HandleCredential.objects.get(handle=handle)
    assert credential.refreshed_at is not None
    assert credential.expires_at is not None
    assert credential.expires_at - timezone.now() > timedelta(minutes=119)
    assert first["access_token"] not in repr(_raw_rows())
    # X's refresh tokens are single-use: the old one is spent.
    with pytest.raises(OAuthRefused):
        oauth.store.oauth_refresh(CLIENT_ID, first["refresh_token"])

    oauth.store.mention_add("omar", "@Driftwood still down")
    again = ingest.handle_poll(handle=handle)
    assert (again.error, again.stored) == ("", 1)
    assert _token_calls(oauth) == 1, "the new token is used, not refreshed again"


def test_a_spent_window_is_remembered_across_a_refresh(
    oauth: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """X counts calls per user: a new token does not open a spent window."""
    store = SandboxStore(rate_limits={"GET /2/users/:id/mentions": 1})
    for username in ("Driftwood", "maya"):
        store.user_add(username)
    store.oauth_client_add(CLIENT_ID, CLIENT_SECRET)
    with SandboxServer(store=store) as limited:
        monkeypatch.setattr(settings, "X_API_URL", limited.url)
        handle = Handle.objects.get(username="Driftwood")
        first = _store(limited)
        assert ingest.handle_poll(handle=handle).error == ""  # spends the window
        HandleCredential.objects.update(expires_at=timezone.now())
        limited.store.oauth_expire(first["access_token"])

        result = ingest.handle_poll(handle=handle)

        assert "rate limited until" in result.error and "(not sent)" in result.error
        assert _token_calls(limited) == 1
        mentions = [r for r in limited.store.request_log() if r.path.endswith("/mentions")]
        assert len(mentions) == 1


def test_a_401_refreshes_and_the_same_request_goes_again(oauth: SandboxServer) -> None:
    first = _store(oauth)  # the desk thinks it has two hours left
    oauth.store.oauth_expire(first["access_token"])  # X thinks otherwise
    reply = _queued_reply(oauth)

    sent = reply_services.reply_deliver(reply_id=reply.pk)

    assert sent.status == Reply.Status.SENT, sent.reason
    assert _token_calls(oauth) == 1
    assert _stored()["access_token"] != first["access_token"]
    posts = oauth.store.posts("Driftwood")
    assert [p["text"] for p in posts] == [reply.text]


def test_a_refused_refresh_says_why(oauth: SandboxServer) -> None:
    first = _store(oauth, expires_in=60)
    oauth.store.oauth_refresh(CLIENT_ID, first["refresh_token"])  # spent elsewhere
    result = ingest.handle_poll(handle=Handle.objects.get(username="Driftwood"))
    assert "X refused the refresh (invalid_request: Value passed for the token was invalid.)" in (
        result.error
    )
    assert first["refresh_token"] not in result.error


def test_a_refresh_without_the_client_id_names_the_variable(
    oauth: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _store(oauth)
    oauth.store.oauth_expire(first["access_token"])
    monkeypatch.setattr(settings, "X_CLIENT_ID", "")
    reply = _queued_reply(oauth)
    failed = reply_services.reply_deliver(reply_id=reply.pk)
    assert failed.status != Reply.Status.SENT
    assert "MENTIONDESK_X_CLIENT_ID" in failed.reason
    assert _token_calls(oauth) == 0


def test_a_public_client_refreshes_with_its_id_in_the_body(
    oauth: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    oauth.store.oauth_client_add("public-client")
    monkeypatch.setattr(settings, "X_CLIENT_ID", "public-client")
    monkeypatch.setattr(settings, "X_CLIENT_SECRET", "")
    answer = oauth.store.oauth_grant("Driftwood", "public-client")
    grant = token_refresh(
        base_url=oauth.url,
        client_id="public-client",
        client_secret="",
        refresh_token=answer["refresh_token"],
    )
    assert grant.access_token != answer["access_token"]
    assert oauth.store.user_for_token(grant.access_token) is not None
    assert answer["access_token"] not in repr(grant)
    with pytest.raises(Rejected, match="unauthorized_client: Missing valid authorization"):
        token_refresh(
            base_url=oauth.url,
            client_id=CLIENT_ID,  # a confidential client without its secret
            client_secret="",
            refresh_token=grant.refresh_token,
        )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_refreshing_at_once_trade_the_refresh_token_once(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("runs on PostgreSQL (set MENTIONDESK_DATABASE_URL); SQLite serialises writers")
    monkeypatch.setattr(settings, "X_API_URL", sandbox.url)
    monkeypatch.setattr(settings, "X_CLIENT_ID", CLIENT_ID)
    monkeypatch.setattr(settings, "X_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setattr(settings, "CREDENTIALS_KEY", KEY_A)
    sandbox.store.oauth_client_add(CLIENT_ID, CLIENT_SECRET)
    handle = Handle.objects.create(username="Driftwood")
    first = _store(sandbox)
    workers = 6
    start = threading.Barrier(workers)
    got: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            got.append(
                credentials.credential_refresh(handle=handle, rejected=first["access_token"])
            )
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert not errors, errors
    assert _token_calls(sandbox) == 1
    assert len(set(got)) == 1 and got[0] != first["access_token"]
    assert _stored()["access_token"] == got[0]


def _queued_reply(sandbox: SandboxServer) -> Reply:
    """A reply queued on a ticket, which was polled in with the environment's token."""
    sandbox.store.mention_add("maya", "@Driftwood is CI down?")
    handle = Handle.objects.get(username="Driftwood")
    with channel_services.handle_connection(
        handle=handle,
        meter=UsageMeter(handle=handle),
        connector=XConnector(base_url=sandbox.url, token=sandbox.store.token_for("Driftwood")),
    ) as x:
        assert ingest.handle_poll(handle=handle, connector=x).error == ""
    agent = account_services.user_create(username="ana", role="advocate")
    return reply_services.reply_create(
        ticket=Ticket.objects.get(), author=agent, text="Looking at it."
    )


# The command line


@pytest.mark.django_db(transaction=True)
def test_credentials_set_list_rekey_and_poll_without_a_secret_in_sight(
    oauth: SandboxServer,
) -> None:
    answer = oauth.store.oauth_grant("Driftwood", CLIENT_ID)
    oauth.store.mention_add("maya", "@Driftwood is CI down?")
    env = command_env(oauth, MENTIONDESK_CREDENTIALS_KEY=KEY_A)
    env.pop("MENTIONDESK_X_TOKEN_DRIFTWOOD")

    stored = mentiondesk("credentials", "set", "driftwood", env=env, stdin=json.dumps(answer))
    listed = mentiondesk("credentials", "list", env=env)
    env["MENTIONDESK_CREDENTIALS_KEY"] = f"{KEY_B},{KEY_A}"
    rekeyed = mentiondesk("credentials", "rekey", env=env)
    env["MENTIONDESK_CREDENTIALS_KEY"] = KEY_B
    polled = mentiondesk("poll", env=env)

    for result in (stored, listed, rekeyed, polled):
        assert result.returncode == 0, result.stderr
        for secret in (answer["access_token"], answer["refresh_token"], KEY_A, KEY_B):
            assert secret not in result.stdout + result.stderr
    assert "stored the X credentials of @Driftwood: access token expires" in stored.stdout
    assert "refresh token kept" in stored.stdout
    row = next(line for line in listed.stdout.splitlines() if line.startswith("@Driftwood "))
    assert "database" in row and "expires 20" in row and "yes" in row
    assert "env MENTIONDESK_X_TOKEN_DRIFTWOODSTATUS" in listed.stdout
    assert "re-encrypted 1 stored credential(s)" in rekeyed.stdout
    assert "@Driftwood: stored 1 posts" in polled.stdout
    assert answer["access_token"] not in repr(_raw_rows())


@pytest.mark.django_db(transaction=True)
def test_credentials_set_refuses_without_a_key_or_a_token(oauth: SandboxServer) -> None:
    env = command_env(oauth)
    env.pop("MENTIONDESK_CREDENTIALS_KEY", None)
    no_key = mentiondesk("credentials", "set", "Driftwood", env=env, stdin="abc\n")
    assert no_key.returncode == 1
    assert "MENTIONDESK_CREDENTIALS_KEY is not set" in no_key.stderr
    assert "Traceback" not in no_key.stderr
    env["MENTIONDESK_CREDENTIALS_KEY"] = KEY_A
    empty = mentiondesk("credentials", "set", "Driftwood", env=env, stdin="\n")
    assert empty.returncode == 1
    assert "no access token was given" in empty.stderr
    unknown = mentiondesk("credentials", "set", "Nobody", env=env, stdin="abc\n")
    assert "@Nobody is not one of our handles" in unknown.stderr
    assert not HandleCredential.objects.exists()


def test_mentiondesk_check_flags_a_malformed_key(tmp_path: Any) -> None:
    result = mentiondesk(
        "check",
        env=command_env(MENTIONDESK_CREDENTIALS_KEY="oops", MENTIONDESK_DATA_DIR=str(tmp_path)),
    )
    assert result.returncode != 0
    assert "(channels.E001) MENTIONDESK_CREDENTIALS_KEY: key 1 of 1 is not a Fernet key" in (
        result.stderr
    )
    assert "oops" not in result.stderr
