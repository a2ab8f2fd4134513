"""`mentiondesk demo` started inside a test (`demo_start`), and everything it started and set
stopped and put back afterwards."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from mentiondesk.channels.connectors.bluesky import bluesky_state_clear
from mentiondesk.channels.connectors.mastodon import text_limits_clear
from mentiondesk.desk.demo import POLICY, Demo, demo_start
from mentiondesk.desk.demo_world import demo_world_current, demo_world_stop
from mentiondesk.policy.schema import policy_parse


@contextmanager
def demo_running(*, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Demo]:
    """The demo, started in this process with its worker thread running and the Bluesky
    sandbox loaded. `settings` is pytest-django's: the demo sets Django's settings directly,
    which an override in place undoes at the test's end; `monkeypatch` puts back the
    handles' credential variables the demo fills."""
    settings.X_API_URL = settings.X_API_URL  # an override in place (see above)
    for entry in policy_parse(text=POLICY.read_text(), source=str(POLICY)).handles:
        monkeypatch.setenv(entry["credentials_env"], "")
    bluesky_state_clear()
    text_limits_clear()
    started = demo_start()
    try:
        assert started.networks.bluesky_ready(timeout=30)
        yield started
    finally:
        demo_worker_stop(started)
        started.networks.stop()
        started.x.stop()
        world = demo_world_current()
        if world is not None:
            demo_world_stop(world=world)
        bluesky_state_clear()
        text_limits_clear()


def demo_worker_stop(demo: Demo) -> None:
    """Stop the demo's worker thread once its pass in progress is over."""
    demo.stop.set()
    for thread in threading.enumerate():
        if thread.name == "worker":
            thread.join(timeout=60)


def demo_script_stop(demo: Demo) -> None:
    """Stop the script players of all three networks: the test plays by hand (`step()`)."""
    demo.x.script_stop()
    for player in demo.networks.players:
        player.stop()
