"""x_plan and [x_billing]: which X API plan the handles post on, and what X charges (costs)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from mentiondesk.channels.choices import UsageKind

from .checks import PolicyError, _table

# x_plan: which X API plan the desk's handles post on. On pay-per-use self-serve plans X
# refuses an API reply unless the post's author summoned the replying account (API-FACTS §4);
# enterprise plans are exempt.
X_PLANS = ("self_serve", "enterprise")


@dataclass(frozen=True)
class XBilling:
    """What X charges, for the cost meter: a price per unit of each UsageKind (reads per
    resource, writes per request), and an optional monthly budget whose warning threshold
    (a percentage of it) posts once a month to `alert_channel`."""

    prices: dict[str, Decimal]
    currency: str = "USD"
    monthly_budget: Decimal | None = None
    warn_at_percent: int = 80
    alert_channel: str = ""

    def price(self, kind: str) -> Decimal:
        return self.prices[kind]

    @property
    def warn_amount(self) -> Decimal | None:
        if self.monthly_budget is None:
            return None
        return self.monthly_budget * self.warn_at_percent / 100


X_BILLING_KEYS: dict[str, type] = {
    "currency": str,
    "monthly_budget": object,  # a number: checked by _x_billing
    "warn_at_percent": int,
    "alert_channel": str,
    "prices": dict,
}
CURRENCY = re.compile(r"^[A-Z]{3}$")


def _x_plan(value: Any, where: str) -> str:
    if value not in X_PLANS:
        raise PolicyError(f"{where}: expected one of {', '.join(X_PLANS)}, got {value!r}")
    return str(value)


def _x_billing(entry: Any, where: str) -> XBilling:
    """[x_billing]: every UsageKind priced (a missing price would silently count as free)."""
    entry = _table(entry, "x_billing", X_BILLING_KEYS, where)
    prices = entry.get("prices")
    if prices is None:
        raise PolicyError(f"{where}: missing required table [x_billing.prices]")
    kinds = UsageKind.values
    for kind in prices:
        if kind not in kinds:
            raise PolicyError(f"{where}.prices: unknown kind {kind!r}; known: {', '.join(kinds)}")
    missing = [kind for kind in kinds if kind not in prices]
    if missing:
        raise PolicyError(f"{where}.prices: missing a price for {', '.join(missing)}")
    currency = entry.get("currency", "USD")
    if not CURRENCY.match(currency):
        raise PolicyError(f"{where}.currency: {currency!r} is not a currency code like USD")
    warn = entry.get("warn_at_percent", 80)
    if isinstance(warn, bool) or not 1 <= warn <= 100:
        raise PolicyError(f"{where}.warn_at_percent: {warn!r} must be a whole number 1 to 100")
    budget = entry.get("monthly_budget")
    alert_channel = entry.get("alert_channel", "")
    if alert_channel and budget is None:
        raise PolicyError(f"{where}.alert_channel: set monthly_budget too, or remove it")
    return XBilling(
        prices={k: _money(prices[k], f"{where}.prices.{k}", places=6) for k in kinds},
        currency=currency,
        monthly_budget=None if budget is None else _money(budget, f"{where}.monthly_budget", 2),
        warn_at_percent=warn,
        alert_channel=alert_channel,
    )


def _money(value: Any, where: str, places: int) -> Decimal:
    """A non-negative amount with at most `places` decimals. TOML floats are read through
    their shortest repr, so 0.005 is exactly 0.005."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError(f"{where}: expected a number, got {value!r}")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise PolicyError(f"{where}: {value!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise PolicyError(f"{where}: {value!r} must be zero or more")
    if -amount.as_tuple().exponent > places:  # type: ignore[operator]
        raise PolicyError(f"{where}: {value!r} has more than {places} decimals")
    return amount
