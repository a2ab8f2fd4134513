"""The local Bluesky (PDS + AppView) for the Bluesky connector's tests, and helpers. Only the
network is local: the connector, the `atproto` SDK and httpx run as in production."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mentiondesk.channels.connectors.bluesky import BlueskyConnector, bluesky_state_clear
from mentiondesk.sandbox.bluesky import BlueskySandbox

OURS = "driftwood.test"
PASSWORD = "abcd-efgh-ijkl-mnop"  # an app password's shape


@pytest.fixture(autouse=True)
def _fresh_bluesky_state() -> Iterator[None]:
    # Sessions and spent windows are process-wide by design; each test starts from none.
    bluesky_state_clear()
    yield
    bluesky_state_clear()


@pytest.fixture
def bluesky() -> Iterator[BlueskySandbox]:
    """A fresh local Bluesky with our account and two customers."""
    server = BlueskySandbox().start()
    server.store.account_add(OURS, password=PASSWORD, display_name="Driftwood")
    server.store.account_add("ana.test", display_name="Ana")
    server.store.account_add("kofi.test", display_name="Kofi")
    try:
        yield server
    finally:
        server.stop()


def connect(server: BlueskySandbox, **kwargs: Any) -> BlueskyConnector:
    kwargs.setdefault("password", PASSWORD)
    return BlueskyConnector(service=server.url, handle=OURS, **kwargs)
