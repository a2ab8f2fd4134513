from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field

from mentiondesk.desk.tickets.schemas import PostOut


class ReasonIn(Schema):
    reason: str = Field(default="", max_length=2_000)


class NoteIn(Schema):
    note: str = Field(default="", max_length=2_000)


class PostActionOut(Schema):
    id: int
    kind: str
    status: str
    post: str
    handle: str
    reason: str
    detail: str
    created_at: datetime
    done_at: datetime | None


class StatusUpdateIn(Schema):
    text: str = Field(min_length=1, max_length=10_000)
    incident_url: str = Field(default="", max_length=2_000)
    follow_up_open_reports: bool = False


class StreamPostOut(PostOut):
    handle: str | None
    ticket: int | None
    is_answered: bool


class StreamReplyIn(Schema):
    text: str = Field(min_length=1, max_length=10_000)
    idempotency_key: str | None = Field(default=None, max_length=100)
    another_reply: bool = Field(
        default=False,
        description="Confirms a deliberate second answer to a post already answered (409 "
        "`already_answered`); recorded as an `another_reply` event in the audit log.",
    )
