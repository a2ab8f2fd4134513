from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from ninja import Schema
from pydantic import Field

from mentiondesk.core.constants import MAX_ROW_ID

Group = Literal["day", "handle", "kind", "ticket"]


class CostFiltersIn(Schema):
    date_from: date | None = Field(default=None, description="from this UTC day, inclusive")
    date_to: date | None = Field(default=None, description="to this UTC day, inclusive")
    handle: str = Field(default="", max_length=51, description="only this handle's calls")
    ticket: int | None = Field(
        default=None, ge=1, le=MAX_ROW_ID, description="only calls for this ticket"
    )
    kind: str = Field(default="", description="only this kind (post_read, post_create, …)")
    group_by: str = Field(
        default="day,handle,kind",
        description="comma-separated: any of day, handle, kind, ticket",
    )


class CostRowOut(Schema):
    day: date | None = None
    handle: str | None = None
    kind: str | None = None
    ticket: int | None = None
    requests: int
    failed: int
    units: int
    amount: Decimal


class CostTotalOut(Schema):
    requests: int
    failed: int
    units: int
    amount: Decimal


class BudgetOut(Schema):
    month: date
    spend: Decimal
    budget: Decimal
    warn_amount: Decimal
    level: Literal["ok", "warning", "over"]
    alerted: bool


class CostListOut(Schema):
    currency: str = Field(description="empty when the policy has no [x_billing] prices")
    prices: dict[str, Decimal]
    total: CostTotalOut
    count: int
    items: list[CostRowOut]
    budget: BudgetOut | None


class ReplyEstimateIn(Schema):
    text: str = Field(min_length=1, max_length=10_000)


class ReplyEstimateOut(Schema):
    kind: str
    has_link: bool
    price: Decimal | None
    plain_price: Decimal | None
    currency: str
    hint: str
