"""The X cost meter over the REST API: spend grouped by day, handle, kind and ticket (leads
and admins), and what a reply will cost (anyone who replies)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from mentiondesk.core.errors import Forbidden
from mentiondesk.costs import selectors
from mentiondesk.desk.auth import api_user
from mentiondesk.policy.selectors import policy_current

from .schemas import CostFiltersIn, CostListOut, ReplyEstimateIn, ReplyEstimateOut

router = Router(tags=["costs"])


@router.get("/costs", response=CostListOut, summary="X API spend (leads and admins)")
def cost_list(request: HttpRequest, filters: Query[CostFiltersIn]) -> dict[str, Any]:
    """Ledger sums grouped by `group_by`, with the month against its budget. Amounts are
    decimal strings in the policy's currency."""
    selectors.costs_viewer_check(viewer=api_user(request))
    usage = selectors.usage_filtered(
        date_from=filters.date_from,
        date_to=filters.date_to,
        handle=filters.handle,
        ticket=filters.ticket,
        kind=filters.kind,
    )
    groups = tuple(g.strip() for g in filters.group_by.split(",") if g.strip())
    items = selectors.usage_grouped(usage=usage, by=groups)
    billing = policy_current().x_billing
    budget = selectors.budget_status()
    return {
        "currency": billing.currency if billing else "",
        "prices": billing.prices if billing else {},
        "total": selectors.usage_total(usage=usage),
        "count": len(items),
        "items": items,
        "budget": None
        if budget is None
        else {
            "month": budget.month,
            "spend": budget.spend,
            "budget": budget.budget,
            "warn_amount": budget.warn_amount,
            "level": budget.level,
            "alerted": budget.alerted_at is not None,
        },
    }


@router.post(
    "/costs/reply-estimate",
    response=ReplyEstimateOut,
    summary="What X will bill to post this reply text",
)
def cost_reply_estimate(request: HttpRequest, payload: ReplyEstimateIn) -> dict[str, Any]:
    if not api_user(request).can_reply:
        raise Forbidden("light agents do not reply")
    estimate = selectors.reply_estimate(text=payload.text)
    return {
        "kind": estimate.kind,
        "has_link": estimate.has_link,
        "price": estimate.price,
        "plain_price": estimate.plain_price,
        "currency": estimate.currency,
        "hint": estimate.hint,
    }
