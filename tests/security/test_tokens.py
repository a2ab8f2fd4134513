"""API tokens: only a hash is stored, and a revoked token stops working at once."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from mentiondesk.accounts.models import ApiToken, User
from tests.processes import mentiondesk


@pytest.mark.django_db(transaction=True)
def test_tokens_are_hashed_at_rest_listed_by_prefix_and_revocable(client: Client) -> None:
    assert mentiondesk("user", "add", "ana", "--role", "advocate").returncode == 0
    created = mentiondesk("token", "create", "ana", "--label", "zapier")
    raw = created.stdout.strip().splitlines()[-1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get("/api/v1/tickets", **auth).status_code == 200

    # Nothing in the table is the token or can be turned back into it.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")  # noqa: S608 (our own table)
        rows = cursor.fetchall()
    assert rows
    assert not any(raw in str(value) for row in rows for value in row)

    listed = mentiondesk("token", "list", "ana")
    assert listed.returncode == 0, listed.stderr
    prefix = raw[:10]
    assert f"{prefix}…  active" in listed.stdout
    assert "zapier" in listed.stdout
    assert raw not in listed.stdout

    revoked = mentiondesk("token", "revoke", prefix)
    assert revoked.returncode == 0, revoked.stderr
    assert client.get("/api/v1/tickets", **auth).status_code == 401
    assert "revoked" in mentiondesk("token", "list", "ana").stdout
    again = mentiondesk("token", "revoke", prefix)
    assert again.returncode != 0 and "already revoked" in again.stderr
    unknown = mentiondesk("token", "revoke", "md_nothing")
    assert unknown.returncode != 0 and "no API token starts with" in unknown.stderr
    assert User.objects.get(username="ana").tokens.count() == 1
