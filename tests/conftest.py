"""Shared fixtures: the sandbox network, a desk configured against it, and users by role.

Only the network edge is replaced: the connector talks HTTP to the product's own sandbox."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest
from django.conf import settings

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from mentiondesk.actions import policy as policy_actions
from mentiondesk.channels.connectors.ratelimits import rate_limits_clear, rate_limits_share
from mentiondesk.channels.models import Handle
from mentiondesk.channels.ratelimits import DatabaseWindows

if TYPE_CHECKING:
    from mentiondesk.sandbox.x.server import SandboxServer

# The open networks' desk (Mastodon and Bluesky sandboxes): fixtures open_desk and net.
pytest_plugins = ["tests.open_networks"]

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PASSWORD = "correct-horse-battery"

DESK_POLICY = """
[[handle]]
network = "x"
username = "Driftwood"
role = "main"
respond_from = "desk"
auto_ticket = true
credentials_env = "MENTIONDESK_X_TOKEN_DRIFTWOOD"

[[handle]]
network = "x"
username = "DriftwoodStatus"
role = "status"
respond_from = "desk"
auto_ticket = true
credentials_env = "MENTIONDESK_X_TOKEN_DRIFTWOODSTATUS"

[[handle]]
network = "x"
username = "MoveToDriftwood"
role = "campaign"
respond_from = "stream"
auto_ticket = false
credentials_env = "MENTIONDESK_X_TOKEN_MOVETODRIFTWOOD"
"""


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request: pytest.FixtureRequest) -> Iterator[None]:
    # The connector remembers rate-limit windows process-wide by design; each test starts
    # from none. Tests of the connector alone have no database to share spent windows in.
    rate_limits_clear()
    uses_db = request.node.get_closest_marker("django_db") or {
        "db",
        "transactional_db",
    } & set(request.fixturenames)
    if not uses_db:
        rate_limits_share(None)
    yield
    rate_limits_clear()
    rate_limits_share(DatabaseWindows())


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A fresh sandbox X network on a free localhost port, with our three handles."""
    from mentiondesk.sandbox.x.server import SandboxServer

    server = SandboxServer().start()
    for username in ("Driftwood", "DriftwoodStatus", "MoveToDriftwood"):
        server.store.user_add(username, name=username)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def desk(sandbox: SandboxServer, db: None, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The desk's handles applied from a policy file and pointed at the sandbox."""
    monkeypatch.setattr(settings, "X_API_URL", sandbox.url)
    monkeypatch.setattr(settings, "X_TIMEOUT_SECONDS", 2.0)
    for username in ("Driftwood", "DriftwoodStatus", "MoveToDriftwood"):
        monkeypatch.setenv(
            f"MENTIONDESK_X_TOKEN_{username.upper()}", sandbox.store.token_for(username)
        )
    policy_actions.policy_apply_text(text=DESK_POLICY, source="desk.toml")
    return sandbox


def _user(username: str, role: str) -> User:
    return account_services.user_create(username=username, role=role, password=PASSWORD)


@pytest.fixture
def advocate(db: None) -> User:
    return _user("ana", User.Role.ADVOCATE)


@pytest.fixture
def advocate2(db: None) -> User:
    return _user("ben", User.Role.ADVOCATE)


@pytest.fixture
def lead(db: None) -> User:
    return _user("lee", User.Role.LEAD)


@pytest.fixture
def infrastructure(db: None) -> User:
    return _user("ivan", User.Role.INFRASTRUCTURE)


@pytest.fixture
def light_agent(db: None) -> User:
    return _user("lisa", User.Role.LIGHT_AGENT)


@pytest.fixture
def main_handle(desk: SandboxServer) -> Handle:
    return Handle.objects.get(username="Driftwood")


@pytest.fixture
def shared_fixtures() -> Path:
    return shared_folder("fixtures")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing(reason: str) -> NoReturn:
    """Something a test needs from outside the repository is absent (the shared folder,
    Chromium): skip with the reason on a laptop; fail in CI, so a green build means it ran."""
    if in_ci():
        pytest.fail(f"CI needs it: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def shared_folder(*parts: str) -> Path:
    """`../shared/<parts>` (fixtures, corpora), kept beside the checkout and the CI clone."""
    folder = SHARED.joinpath(*parts)
    if not folder.is_dir():
        missing(f"the shared folder {folder} is not beside the checkout")
    return folder
