from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field


class SurgeTicketOut(Schema):
    ticket: int
    requester: str
    reply: int | None
    reply_status: str | None
    reply_skipped: str
    follow_up: int | None
    follow_up_status: str | None
    follow_up_skipped: str


class SurgeOut(Schema):
    """An incident card: availability reports grouped by an outage surge."""

    id: int
    network: str
    status: Literal["open", "resolved"]
    opened_at: datetime
    threshold: int
    window_minutes: int
    incident_id: str | None
    incident_url: str | None
    incident_title: str | None
    incident_status: str | None
    replied_at: datetime | None
    replied_by: str | None
    reply_url: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolved_source: str | None
    followed_up_at: datetime | None
    tickets: list[SurgeTicketOut]


class SurgeReplyIn(Schema):
    # Only needed when the card has no incident linked yet.
    incident_url: str = Field(default="", max_length=500)


class SurgeRepliesOut(Schema):
    """What one click did: tickets answered now, already answered, skipped (with why)."""

    surge: SurgeOut
    queued: list[int]
    already: list[int]
    skipped: dict[str, str]
