"""`mentiondesk check`: configuration of the handles' credentials, caught before a worker
meets it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from .credentials.crypto import key_problems


def credentials_settings_check(**kwargs: Any) -> list[CheckMessage]:
    """A malformed MENTIONDESK_CREDENTIALS_KEY is an error; an unset one is fine (handles
    then take their tokens from the environment), and a client secret without a client id
    is a warning: stored tokens could not be refreshed."""
    messages: list[CheckMessage] = []
    if settings.CREDENTIALS_KEY.strip():
        messages.extend(
            Error(
                problem,
                hint="Every key comes from `mentiondesk credentials key`.",
                id="channels.E001",
            )
            for problem in key_problems(settings.CREDENTIALS_KEY)
        )
    if settings.X_CLIENT_SECRET and not settings.X_CLIENT_ID:
        messages.append(
            Warning(
                "MENTIONDESK_X_CLIENT_SECRET is set without MENTIONDESK_X_CLIENT_ID: stored "
                "X access tokens cannot be refreshed",
                id="channels.W001",
            )
        )
    return messages
