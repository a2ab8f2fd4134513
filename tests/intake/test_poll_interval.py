"""Each handle's poll interval: from its network's mentions budget and the handles sharing its
token, 15 s at least, or MENTIONDESK_POLL_INTERVAL_SECONDS when set; the worker's periodic
poll reads only the handles whose interval ran out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from mentiondesk.channels import selectors as channel_selectors
from mentiondesk.channels.models import Handle, Post
from mentiondesk.desk.schedules import schedules
from mentiondesk.intake import ingest, tasks
from mentiondesk.sandbox.x.server import SandboxServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def budgeted(settings: Any) -> None:
    """No interval set: the budget decides (as in production without the variable)."""
    settings.POLL_INTERVAL_SECONDS = None


def handles_sharing(count: int, *, network: str = "x") -> list[Handle]:
    return [
        Handle.objects.create(
            network=network,
            username=f"shared{i}",
            credentials_env=f"MENTIONDESK_{network.upper()}_TOKEN_SHARED",
        )
        for i in range(count)
    ]


def test_one_x_handle_polls_every_15_seconds(budgeted: None, main_handle: Handle) -> None:
    # 900 s / (300 calls * 0.5) = 6 s a call: below the 15 s floor.
    assert channel_selectors.handle_poll_interval(handle=main_handle) == 15.0
    (job,) = [s for s in schedules() if s.name == "mentions_poll_all"]
    assert job.every_seconds == 15.0


def test_handles_sharing_a_token_share_its_budget(budgeted: None) -> None:
    five = handles_sharing(5)
    # 6 s a call for each of the five handles on the token.
    assert channel_selectors.handle_poll_interval(handle=five[0]) == 30.0
    alone = Handle.objects.create(username="alone", credentials_env="MENTIONDESK_X_TOKEN_ALONE")
    assert channel_selectors.handle_poll_interval(handle=alone) == 15.0


def test_mastodon_budget_is_per_five_minutes(budgeted: None) -> None:
    ten = handles_sharing(10, network="mastodon")
    # 300 s / (300 calls * 0.5) = 2 s a call, ten handles on one account.
    assert channel_selectors.handle_poll_interval(handle=ten[0]) == 20.0


def test_a_set_interval_wins(settings: Any, main_handle: Handle) -> None:
    settings.POLL_INTERVAL_SECONDS = 60.0
    handles_sharing(20)
    assert channel_selectors.handle_poll_interval(handle=main_handle) == 60.0
    (job,) = [s for s in schedules() if s.name == "mentions_poll_all"]
    assert job.every_seconds == 60.0


def test_periodic_poll_reads_only_handles_whose_interval_ran_out(
    budgeted: None, desk: SandboxServer, main_handle: Handle
) -> None:
    tasks.mentions_poll_all.call()
    main_handle.refresh_from_db()
    assert main_handle.last_polled_at is not None
    desk.store.mention_add("maya", "@Driftwood the build is red")

    # Polled 5 s ago: not due before 15 s (less half a tick), so the mention waits.
    Handle.objects.update(last_polled_at=timezone.now() - timedelta(seconds=5))
    assert main_handle not in channel_selectors.handles_poll_due(now=timezone.now())
    tasks.mentions_poll_all.call()
    assert not Post.objects.filter(text__contains="the build is red").exists()

    # Polled 9 s ago: due within half a tick (7.5 s) of its 15 s.
    Handle.objects.update(last_polled_at=timezone.now() - timedelta(seconds=9))
    tasks.mentions_poll_all.call()
    assert Post.objects.filter(text__contains="the build is red", ticket__isnull=False).exists()


def test_poll_command_still_reads_every_handle(
    budgeted: None, desk: SandboxServer, main_handle: Handle
) -> None:
    Handle.objects.update(last_polled_at=timezone.now())
    desk.store.mention_add("maya", "@Driftwood hello")
    results = ingest.mentions_poll_all()
    assert {r.handle for r in results} >= {"Driftwood"}
    assert Post.objects.filter(text__contains="hello").exists()
