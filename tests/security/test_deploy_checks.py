"""Insecure defaults do not pass silently: `mentiondesk check --deploy` fails on them, and
`mentiondesk serve` refuses them on an address other machines reach."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError

from mentiondesk.core.checks import host_is_loopback

SAFE_KEY = "a-long-random-key-for-the-tests-0123456789-abcdefghijklmnop"


def deploy_errors() -> str:
    try:
        call_command("check", deploy=True, stdout=StringIO(), stderr=StringIO())
    except SystemCheckError as exc:
        return str(exc)
    return ""


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"SECRET_KEY": django_settings.INSECURE_SECRET_KEY}, "core.E001"),
        ({"DEBUG": True}, "core.E002"),
        ({"HTTPS": True, "TRUSTED_PROXY": ""}, "core.E003"),
    ],
)
def test_check_deploy_fails_on_each_insecure_default(
    settings: Any, overrides: dict[str, Any], error: str
) -> None:
    settings.SECRET_KEY, settings.DEBUG, settings.HTTPS = SAFE_KEY, False, False
    assert "core.E" not in deploy_errors()
    for name, value in overrides.items():
        setattr(settings, name, value)
    assert error in deploy_errors()


def test_https_behind_the_named_proxy_passes(settings: Any) -> None:
    settings.SECRET_KEY, settings.DEBUG = SAFE_KEY, False
    settings.HTTPS, settings.TRUSTED_PROXY = True, "10.0.0.2"
    assert "core.E" not in deploy_errors()


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"SECRET_KEY": django_settings.INSECURE_SECRET_KEY}, "MENTIONDESK_SECRET_KEY is not set"),
        ({"DEBUG": True}, "MENTIONDESK_DEBUG=1"),
    ],
)
def test_serve_refuses_insecure_defaults_on_a_reachable_address(
    settings: Any, overrides: dict[str, Any], says: str
) -> None:
    settings.SECRET_KEY, settings.DEBUG = SAFE_KEY, False
    for name, value in overrides.items():
        setattr(settings, name, value)
    # A documentation address (TEST-NET-1): should the refusal ever fail, binding it fails at
    # once instead of serving.
    with pytest.raises(CommandError, match=f"refusing to serve on 192.0.2.1.*{says}"):
        call_command("serve", host="192.0.2.1", port=8000)


def test_loopback_is_told_apart() -> None:
    assert all(map(host_is_loopback, ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2")))
    reachable = ("0.0.0.0", "::", "192.0.2.1", "desk.example.com")  # noqa: S104 (strings only)
    assert not any(map(host_is_loopback, reachable))


def test_the_database_url_is_not_a_setting_the_debug_page_would_list() -> None:
    # It may hold the database password; DATABASES' own PASSWORD is masked by Django.
    assert not hasattr(django_settings, "DATABASE_URL")
