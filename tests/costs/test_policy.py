"""[x_billing] in the policy file: every price or none, precise errors, all or nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mentiondesk.actions import policy as policy_actions
from mentiondesk.channels.choices import UsageKind
from mentiondesk.policy import services as policy_services
from mentiondesk.policy.models import PolicyVersion
from mentiondesk.policy.schema import PolicyError, policy_parse
from mentiondesk.policy.selectors import policy_current
from tests.costs.conftest import BILLING, billed_policy

PRICES = BILLING.split("[x_billing.prices]")[1]


def parse(text: str) -> object:
    return policy_parse(text=text, source="p.toml")


def test_the_demo_prices_parse_exactly() -> None:
    billing = parse(billed_policy("50")).x_billing  # type: ignore[attr-defined]
    assert billing.prices[UsageKind.POST_CREATE_WITH_URL] == Decimal("0.2")
    assert billing.prices[UsageKind.POST_READ] == Decimal("0.005")
    assert (billing.currency, billing.monthly_budget, billing.warn_amount) == (
        "USD",
        Decimal("50"),
        Decimal("40"),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[x_billing]\ncurrency = 'USD'\n",
            "p.toml: x_billing: missing required table [x_billing.prices]",
        ),
        (
            "[x_billing.prices]\n" + PRICES.replace("like = 0.015\n", ""),
            "p.toml: x_billing.prices: missing a price for like",
        ),
        (
            "[x_billing.prices]\n" + PRICES + "retweet = 0.015\n",
            "p.toml: x_billing.prices: unknown kind 'retweet'; known: post_read",
        ),
        (
            "[x_billing.prices]\n" + PRICES.replace("post_read = 0.005", "post_read = '0.005'"),
            "p.toml: x_billing.prices.post_read: expected a number, got '0.005'",
        ),
        (
            "[x_billing.prices]\n" + PRICES.replace("post_read = 0.005", "post_read = -0.005"),
            "p.toml: x_billing.prices.post_read: -0.005 must be zero or more",
        ),
        (
            "[x_billing.prices]\n" + PRICES.replace("post_read = 0.005", "post_read = 0.0000001"),
            "p.toml: x_billing.prices.post_read: 1e-07 has more than 6 decimals",
        ),
        (
            "[x_billing]\ncurrency = 'dollars'\n[x_billing.prices]\n" + PRICES,
            "p.toml: x_billing.currency: 'dollars' is not a currency code like USD",
        ),
        (
            "[x_billing]\nmonthly_budget = 10\nwarn_at_percent = 120\n[x_billing.prices]\n"
            + PRICES,
            "p.toml: x_billing.warn_at_percent: 120 must be a whole number 1 to 100",
        ),
        (
            "[x_billing]\nmonthly_budget = 10\nalert_channel = 'finance'\n[x_billing.prices]\n"
            + PRICES,
            "p.toml: x_billing.alert_channel: no [[channel]] named 'finance'",
        ),
        (
            "[x_billing]\nalert_channel = 'abuse'\n[x_billing.prices]\n" + PRICES,
            "p.toml: x_billing.alert_channel: set monthly_budget too, or remove it",
        ),
        (
            "[x_billing]\nbudget = 10\n[x_billing.prices]\n" + PRICES,
            "p.toml: x_billing: unknown key 'budget'",
        ),
    ],
)
def test_bad_billing_names_the_file_the_key_and_the_problem(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse(text)
    assert raised.value.message.startswith(message), raised.value.message


@pytest.mark.django_db
def test_a_bad_price_applies_nothing_and_show_prints_the_prices_back() -> None:
    policy_actions.policy_apply_text(text=billed_policy("50"), source="good.toml")
    with pytest.raises(PolicyError):
        policy_actions.policy_apply_text(
            text=billed_policy("50").replace("like = 0.015", "like = 'free'"), source="bad.toml"
        )
    assert PolicyVersion.objects.count() == 1
    shown = policy_services.policy_show()
    assert "[x_billing.prices]\npost_read = 0.005\n" in shown
    assert "post_create_with_url = 0.2\n" in shown
    policy_actions.policy_apply_text(text=shown, source="shown.toml")
    assert policy_current().x_billing == parse(billed_policy("50")).x_billing  # type: ignore[attr-defined]


def test_without_the_section_nothing_is_priced() -> None:
    assert parse("").x_billing is None  # type: ignore[attr-defined]
