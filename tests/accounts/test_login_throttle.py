"""Wrong passwords are throttled per username and address; nobody else is locked out."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from mentiondesk.accounts.models import User
from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"


def _login(client: Client, username: str, password: str, ip: str = "203.0.113.7") -> int:
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip
    ).status_code


@pytest.mark.django_db
def test_five_wrong_passwords_lock_that_username_from_that_address(
    advocate: User, advocate2: User
) -> None:
    statuses = [_login(Client(), advocate.username, "wrong") for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429], "the fifth failure locks"
    locked = Client().post(
        LOGIN, {"username": advocate.username, "password": PASSWORD}, REMOTE_ADDR="203.0.113.7"
    )
    assert locked.status_code == 429, "even the right password waits out the cool-off"
    assert "Too many wrong passwords" in locked.content.decode()
    assert "_auth_user_id" not in locked.client.session

    # A colleague at the same address, and the same user elsewhere, are not locked out.
    assert _login(Client(), advocate2.username, PASSWORD) == 302
    assert _login(Client(), advocate.username, PASSWORD, ip="198.51.100.9") == 302

    call_command("axes_reset_username", advocate.username, verbosity=0)
    assert _login(Client(), advocate.username, PASSWORD) == 302


@pytest.mark.django_db
def test_a_successful_login_clears_earlier_failures(advocate: User) -> None:
    for _ in range(4):
        assert _login(Client(), advocate.username, "wrong") == 200
    assert _login(Client(), advocate.username, PASSWORD) == 302
    for _ in range(4):
        assert _login(Client(), advocate.username, "wrong") == 200
    assert _login(Client(), advocate.username, PASSWORD) == 302
