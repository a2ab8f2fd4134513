"""The monthly budget: a banner for leads past the warning threshold, and one Slack warning
per month when the spend crosses it, however many calls follow."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from mentiondesk.accounts.models import User
from mentiondesk.actions import policy as policy_actions
from mentiondesk.costs import selectors
from mentiondesk.costs.models import BudgetAlert
from mentiondesk.intake import ingest as channel_services
from mentiondesk.integrations.slack import services as slack_services
from mentiondesk.integrations.slack.models import SlackMessage
from mentiondesk.replies import services as reply_services
from mentiondesk.sandbox.slack import SlackServer
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.costs.conftest import billed_policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_budget(desk: SandboxServer) -> SandboxServer:
    # 0.25 USD a month, warning at 80%: 0.20 USD.
    policy_actions.policy_apply_text(text=billed_policy("0.25"), source="small.toml")
    return desk


def send(ticket: Ticket, author: User, text: str) -> None:
    reply = reply_services.reply_create(ticket=ticket, author=author, text=text)
    reply_services.reply_deliver(reply_id=reply.pk)


def test_crossing_the_warning_threshold_warns_in_slack_once(
    small_budget: SandboxServer, slack: SlackServer, advocate: User, client: Client, lead: User
) -> None:
    small_budget.store.mention_add("maya", "@Driftwood pushing to main fails")
    small_budget.store.mention_add("omar", "@Driftwood where are the docs?")
    channel_services.mentions_poll_all()
    maya = Ticket.objects.get(requester_username="maya")
    omar = Ticket.objects.get(requester_username="omar")
    # Poll: 1 username lookup (0.010) + 2 post reads (0.010) + 2 authors (0.020) = 0.040.
    status = selectors.budget_status()
    assert status is not None and (status.spend, status.level) == (Decimal("0.04"), "ok")

    send(maya, advocate, "Sorry Maya, looking now.")  # + 0.015 = 0.055
    assert not BudgetAlert.objects.exists()
    client.force_login(lead)
    assert b"budget-banner" not in client.get(reverse("tickets:queue")).content

    send(omar, advocate, "Here you go: https://docs.example.com")  # + 0.200 = 0.255
    alert = BudgetAlert.objects.get()
    assert (alert.spend, alert.threshold, alert.budget) == (
        Decimal("0.255"),
        Decimal("0.2"),
        Decimal("0.25"),
    )
    message = SlackMessage.objects.get()
    assert alert.slack_message == message
    assert message.channel == "support_managers"
    assert "0.255 USD" in message.text and "80% of the 0.25 USD" in message.text

    # Over budget now; more spend this month warns no more.
    small_budget.store.mention_add("maya", "@Driftwood any news?")
    channel_services.mentions_poll_all()
    assert selectors.budget_status().level == "over"  # type: ignore[union-attr]
    assert SlackMessage.objects.count() == 1
    assert BudgetAlert.objects.count() == 1

    slack_services.slack_outbox_drain()
    (posted,) = slack.messages
    assert posted.channel_requested == "support_managers"

    page = client.get(reverse("tickets:queue")).content.decode()
    assert 'data-budget-level="over"' in page
    client.force_login(advocate)
    assert "budget-banner" not in client.get(reverse("tickets:queue")).content.decode()


def test_without_slack_the_alert_is_recorded_and_the_banner_still_shows(
    small_budget: SandboxServer, advocate: User, client: Client, lead: User
) -> None:
    small_budget.store.mention_add("omar", "@Driftwood where are the docs?")
    channel_services.mentions_poll_all()
    send(Ticket.objects.get(), advocate, "Here: https://docs.example.com")
    alert = BudgetAlert.objects.get()
    assert alert.slack_message is None
    assert not SlackMessage.objects.exists()
    client.force_login(lead)
    assert 'data-budget-level="' in client.get(reverse("tickets:queue")).content.decode()
