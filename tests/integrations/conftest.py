"""Slack fixtures: the local Slack-compatible server, and the desk's settings pointed at it.

Only the network edge is replaced: slack_sdk talks HTTP to a real server on localhost."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings

from mentiondesk.sandbox.slack import SlackServer


@pytest.fixture
def slack_server() -> Iterator[SlackServer]:
    """A fresh Slack-compatible server on a free localhost port, with the handbook's channels."""
    server = SlackServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def slack(slack_server: SlackServer, monkeypatch: pytest.MonkeyPatch) -> SlackServer:
    """Slack enabled, with the server's bot token, and the desk's Slack settings pointed at it.

    Short timeouts keep fault tests quick; the retry delays stay as in production, so tests
    see real backoff times and move `next_attempt_at` to make a retry due."""
    monkeypatch.setattr(settings, "SLACK_ENABLED", True)
    monkeypatch.setattr(settings, "SLACK_API_URL", slack_server.api_url)
    monkeypatch.setattr(settings, "SLACK_BOT_TOKEN", slack_server.token)
    monkeypatch.setattr(settings, "SLACK_TIMEOUT_SECONDS", 1.0)
    monkeypatch.setattr(settings, "SLACK_RETRY_BASE_SECONDS", 30.0)
    monkeypatch.setattr(settings, "SLACK_RETRY_MAX_SECONDS", 3600.0)
    monkeypatch.setattr(settings, "SLACK_MAX_ATTEMPTS", 8)
    return slack_server
