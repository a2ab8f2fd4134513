"""X announces a rate limit's reset on its own clock: the desk waits until that moment on its
clock, neither earlier (a call X refuses) nor later (a backlog held up for nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mentiondesk.channels.connectors.base import RateLimited
from mentiondesk.channels.connectors.x import XConnector
from mentiondesk.sandbox.x.server import SandboxServer


@pytest.mark.parametrize("offset", [timedelta(minutes=-5), timedelta(minutes=5)])
def test_the_wait_after_a_429_is_on_our_clock_whatever_x_s_says(
    sandbox: SandboxServer, offset: timedelta
) -> None:
    store = sandbox.store
    store.clock_set(offset)
    store.rate_limits["GET /2/users/:id/mentions"] = 1
    store.window = 30.0
    brand = store.user_by_username("Driftwood")["id"]  # type: ignore[index]
    x = XConnector(base_url=sandbox.url, token=store.token_for("Driftwood"))
    try:
        x.mentions(brand)
        with pytest.raises(RateLimited) as refused:
            x.mentions(brand)
    finally:
        x.close()
    # The sandbox's window ends about 30 s from now on this machine's clock.
    wait = refused.value.reset_at - datetime.now(UTC)
    assert timedelta(seconds=25) < wait <= timedelta(seconds=32), wait
