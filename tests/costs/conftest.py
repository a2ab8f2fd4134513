"""The desk of tests/conftest.py with X's public pay-per-use prices in its policy."""

from __future__ import annotations

import pytest

from mentiondesk.channels.models import Handle
from mentiondesk.policy import services as policy_services
from mentiondesk.sandbox.server import SandboxServer

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
    policy_services.policy_apply_text(text=billed_policy(), source="priced.toml")
    assert list(Handle.objects.filter(is_active=True).values_list("username", flat=True)) == [
        "Driftwood"
    ]
    return desk
