"""The handbook's workflow on the sandbox: a desk with its handles, Slack pointed at the local
Slack-compatible server, and API clients for every role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from mentiondesk.intake import ingest as channel_services
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.integrations.conftest import slack, slack_server  # noqa: F401

ROLES = ("advocate", "lead", "infrastructure", "light_agent", "admin")


def ingest() -> None:
    results = channel_services.mentions_poll_all()
    assert not [r.error for r in results if r.error]


@pytest.fixture
def mention(desk: SandboxServer) -> Callable[..., Ticket]:
    """Post a mention on the sandbox, ingest it, and return its ticket."""

    def make(author: str, text: str, **kwargs: Any) -> Ticket:
        desk.store.mention_add(author, text, **kwargs)
        ingest()
        return Ticket.objects.filter(requester_username=author).latest("created_at")

    return make


@pytest.fixture
def users(db: None) -> dict[str, User]:
    return {
        role: account_services.user_create(username=f"{role}_user", role=role) for role in ROLES
    }


class Api:
    """A bearer-token client for one user, speaking JSON."""

    def __init__(self, user: User) -> None:
        _, raw = account_services.token_create(user=user)
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        self.user = user

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"/api/v1{path}", data=body or {}, content_type="application/json")

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/v1{path}")


@pytest.fixture
def api(users: dict[str, User]) -> dict[str, Api]:
    return {role: Api(user) for role, user in users.items()}
