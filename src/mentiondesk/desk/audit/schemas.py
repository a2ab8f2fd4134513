from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from mentiondesk.core.constants import MAX_OFFSET, MAX_ROW_ID


class AuditFiltersIn(Schema):
    ticket: int | None = Field(
        default=None, ge=1, le=MAX_ROW_ID, description="only this ticket's events"
    )
    user: str | None = Field(default=None, description="only events by this username")
    kind: str | None = Field(default=None, description="only events of this kind")
    since: datetime | None = Field(default=None, description="from this time, inclusive (UTC)")
    until: datetime | None = Field(default=None, description="up to this time, exclusive (UTC)")


class AuditListIn(AuditFiltersIn):
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class AuditExportIn(AuditFiltersIn):
    format: Literal["csv", "json"] = "csv"


class AuditEventOut(Schema):
    id: int
    created_at: datetime
    ticket: int
    kind: str
    actor: str | None
    message: str
    data: dict[str, object]


class AuditEventListOut(Schema):
    count: int
    items: list[AuditEventOut]
