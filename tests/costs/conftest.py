"""The desk of tests/conftest.py with X's public pay-per-use prices in its policy."""

from __future__ import annotations

import pytest

from mentiondesk.actions import policy as policy_actions
from mentiondesk.channels.models import Handle
from mentiondesk.intake import ingest as channel_services
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.integrations.conftest import slack, slack_server  # noqa: F401 (fixtures used here)

BILLING = """
[x_billing]
currency = "USD"
monthly_budget = {budget}
warn_at_percent = 80
alert_channel = "support_managers"

[x_billing.prices]
post_read = 0.005
user_read = 0.010
post_create = 0.015
post_create_with_url = 0.200
dm_create = 0.015
like = 0.015
post_delete = 0.010
"""

# One handle keeps the hand counts short: the other two of tests/conftest.py are deactivated.
ONE_HANDLE = """
[[handle]]
network = "x"
username = "Driftwood"
role = "main"
credentials_env = "MENTIONDESK_X_TOKEN_DRIFTWOOD"
"""


def billed_policy(budget: str = "50.0") -> str:
    return ONE_HANDLE + BILLING.format(budget=budget)


@pytest.fixture
def priced_desk(desk: SandboxServer) -> SandboxServer:
    policy_actions.policy_apply_text(text=billed_policy(), source="priced.toml")
    assert list(Handle.objects.filter(is_active=True).values_list("username", flat=True)) == [
        "Driftwood"
    ]
    return desk


def poll() -> None:
    results = channel_services.mentions_poll_all()
    assert not [r.error for r in results if r.error]


@pytest.fixture
def two_tickets(priced_desk: SandboxServer) -> tuple[Ticket, Ticket]:
    """maya writes twice (the second a reply to the first), omar once; one poll. Costs
    0.045 USD: see test_meter.test_a_poll_counts_each_request_and_bills_each_resource_once."""
    first = priced_desk.store.mention_add("maya", "@Driftwood pushing to main fails with a 502")
    priced_desk.store.mention_add("maya", "@Driftwood still failing", in_reply_to=first)
    priced_desk.store.mention_add("omar", "@Driftwood the new editor is lovely")
    poll()
    maya = Ticket.objects.get(requester_username="maya")
    omar = Ticket.objects.get(requester_username="omar")
    return maya, omar
