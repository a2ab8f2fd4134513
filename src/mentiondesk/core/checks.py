"""`mentiondesk check --deploy`: settings that must not reach a desk others can reach."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error


def deploy_settings_check(**kwargs: Any) -> list[CheckMessage]:
    """The built-in secret key, debug pages, and HTTPS without the proxy it relies on are
    errors for a deployment (Django's own deploy checks cover the rest)."""
    messages: list[CheckMessage] = []
    if settings.SECRET_KEY == settings.INSECURE_SECRET_KEY:
        messages.append(
            Error(
                "MENTIONDESK_SECRET_KEY is not set: the built-in development key, public in the "
                "source, signs sessions and CSRF tokens",
                hint="Set MENTIONDESK_SECRET_KEY to a long random value, e.g. "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'.",
                id="core.E001",
            )
        )
    if settings.DEBUG:
        messages.append(
            Error(
                "MENTIONDESK_DEBUG=1: error pages show code, settings and requests to anyone",
                hint="Unset MENTIONDESK_DEBUG outside a developer's machine.",
                id="core.E002",
            )
        )
    if settings.HTTPS and not settings.TRUSTED_PROXY:
        messages.append(
            Error(
                "MENTIONDESK_HTTPS=1 without MENTIONDESK_TRUSTED_PROXY: the desk cannot tell "
                "a request that came over TLS, so every request is redirected to HTTPS again",
                hint="Set MENTIONDESK_TRUSTED_PROXY to the address of the TLS proxy.",
                id="core.E003",
            )
        )
    return messages


def host_is_loopback(host: str) -> bool:
    """Whether `serve --host` answers only this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
