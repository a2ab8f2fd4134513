"""The desk on a phone (390 px) and on a wide laptop (1440 px): no page is wider than the
screen, the queue's Play button and time left stay readable, the views scroll sideways inside
their bar."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from mentiondesk.accounts.models import User
from mentiondesk.actions import policy as policy_actions
from mentiondesk.channels.models import Handle
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.sla import services as sla_services
from tests.browser.journeys import sign_in
from tests.conftest import DESK_POLICY
from tests.factories import BASE_TIME, remote_post, tickets_from

pytestmark = pytest.mark.browser

PAGES = [
    "/",
    "/?view=mine",
    "/stream/",
    "/status/",
    "/reports/",
    "/audit/",
    "/costs/",
    "/search?q=x",
]
# Cells of the time-left column whose text does not fit (cut with an ellipsis).
CUT_CELLS = (
    "[...document.querySelectorAll('td.col-sla')]"
    ".filter(td => td.scrollWidth > td.clientWidth).map(td => td.innerText)"
)


# Against a 30 minute first response, posts from BASE_TIME (tests.factories) are days late.
SLA = """
[sla]
[[sla.target]]
name = "default"
first_response = "30m"
"""


def minutes_ago(minutes: int) -> float:
    """`remote_post`'s offset from BASE_TIME for a post `minutes` before now."""
    return (timezone.now() - BASE_TIME).total_seconds() / 60 - minutes


@pytest.fixture
def queue(live_desk: SandboxServer) -> list[Any]:
    policy_actions.policy_apply_text(text=DESK_POLICY + SLA, source="desk.toml")
    handle = Handle.objects.get(username="Driftwood")
    tickets = tickets_from(
        handle,
        remote_post(
            author="maya_from_a_long_named_team", text="@Driftwood my runner token expired"
        ),
        # The widest time left there is: "22h 10m late".
        remote_post(
            author="omar",
            text="@Driftwood billed twice this month",
            minutes=minutes_ago(22 * 60 + 40),
        ),
    )
    sla_services.tickets_sla_refresh(ticket_ids=[t.pk for t in tickets])
    return tickets


def test_a_phone_screen_never_scrolls_sideways(
    page: Page, live_server: Any, queue: list[Any], lead: User
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server.url, lead.username)
    for path in [*PAGES, f"/tickets/{queue[0].pk}/"]:
        page.goto(live_server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide on a 390 px screen"

    page.goto(live_server.url + "/")
    play = page.get_by_role("button", name="Play")
    expect(play).to_be_in_viewport()
    assert page.evaluate(CUT_CELLS) == []
    # The views that do not fit are reached by scrolling the bar, not the page.
    last_view = page.get_by_role("link", name="Status updates")
    last_view.scroll_into_view_if_needed()
    expect(last_view).to_be_in_viewport()
    assert page.evaluate("window.scrollX") == 0


def test_time_left_is_never_cut_on_a_wide_laptop(
    page: Page, live_server: Any, queue: list[Any], lead: User
) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, live_server.url, lead.username)
    page.goto(live_server.url + "/")
    expect(page.locator("td.col-sla").filter(has_text="22h 10m late")).to_have_count(1)
    assert page.evaluate(CUT_CELLS) == []
