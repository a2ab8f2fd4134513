"""Small pieces of the cost meter shown on other apps' pages: the budget banner (leads and
admins), the nav link, a ticket's cost, and the composer's link-cost hint."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from mentiondesk.accounts.models import User
from mentiondesk.costs import selectors

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str = "") -> str:
    return selectors.money(amount, currency)


def _can_see(user: Any) -> bool:
    return isinstance(user, User) and user.role in selectors.COST_ROLES


@register.simple_tag(takes_context=True)
def costs_viewer(context: dict[str, Any]) -> bool:
    """Whether the signed-in user sees the cost page (for the nav link)."""
    return _can_see(context.get("user"))


@register.inclusion_tag("costs/partials.html#budget-banner", takes_context=True)
def costs_budget_banner(context: dict[str, Any]) -> dict[str, Any]:
    """The banner over every page for leads and admins once the month's X spend passes the
    warning threshold. One query for them, none for anyone else."""
    if not _can_see(context.get("user")):
        return {"budget": None}
    budget = selectors.budget_status()
    return {"budget": budget if budget and budget.level != "ok" else None}


@register.inclusion_tag("costs/partials.html#ticket-cost")
def ticket_cost(ticket: Any) -> dict[str, Any]:
    return {"spend": selectors.ticket_spend(ticket_id=ticket.pk), "ticket": ticket}


@register.inclusion_tag("costs/partials.html#reply-cost-hint")
def reply_cost_hint(text: str | None = "") -> dict[str, Any]:
    """Prices for the composer's client-side hint (data attributes), and the hint itself
    computed on the server for the text the form was rendered with."""
    return {"estimate": selectors.reply_estimate(text=text or "")}


@register.filter
def get_price(prices: dict[str, Decimal], kind: str) -> Decimal | None:
    return prices.get(kind)
