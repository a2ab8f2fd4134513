from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from mentiondesk.channels.models import REMOTE_ID_LENGTH
from mentiondesk.core.constants import MAX_ROW_ID
from mentiondesk.core.intents import Intent
from mentiondesk.desk.sla.schemas import TicketSlaOut


class TicketOut(Schema):
    id: int
    status: str
    assignee: str | None
    handle: str
    network: str
    requester: str
    requester_id: str
    conversation_id: str
    subject: str
    created_at: datetime
    last_inbound_at: datetime
    first_response_at: datetime | None
    solved_at: datetime | None
    intent: str
    intent_suggested: bool = Field(
        description="`intent` is only triage's suggestion (less sure than the policy's "
        "[triage] act_above): it switches no handle, unlocks no like, joins no surge and sends "
        "nothing automated until a person sets the intent (POST .../intent)"
    )
    escalated_at: datetime | None
    sla: TicketSlaOut


class PostOut(Schema):
    remote_id: str
    direction: Literal["in", "out"]
    author: str
    author_id: str
    text: str
    created_at: datetime
    in_reply_to: str | None
    url: str


class TriageOut(Schema):
    """Triage's labels for the ticket's first inbound post, the evidence for them (model
    features or "rule: <name>"), and a person's correction of the intent, if any."""

    intent: str
    confidence: float
    sentiment: str
    context: str
    source: Literal["model", "rule"]
    evidence: list[str]
    corrected_intent: str | None
    corrected_by: str | None
    model_version: str = Field(description="the models that labelled the post")


class TicketDetailOut(TicketOut):
    posts: list[PostOut]
    triage: TriageOut | None


class TicketListOut(Schema):
    count: int
    items: list[TicketOut]


class EventOut(Schema):
    id: int
    kind: str
    actor: str | None
    message: str
    data: dict[str, object]
    created_at: datetime


class QueueNextIn(Schema):
    view: str | None = None


class ReplyCreateIn(Schema):
    text: str = Field(min_length=1, max_length=10_000)
    idempotency_key: str | None = Field(default=None, max_length=100)
    status_after: Literal["open", "pending", "solved"] = "pending"
    # The newest post the composer showed: the send stops if the conversation moved on.
    seen_post_id: str | None = Field(default=None, max_length=REMOTE_ID_LENGTH)
    another_reply: bool = Field(
        default=False,
        description="Confirms a deliberate second answer: send even though the requester's "
        "latest post is already answered (409 with code `already_answered` says by whom and "
        "where). Recorded as an `another_reply` event in the audit log. A conversation that "
        "moved on since `seen_post_id` is still refused.",
    )
    # Used only when the reply takes the ticket out of Play's order, or over from someone.
    reason: str = Field(default="", max_length=2_000)


class ReplyOut(Schema):
    id: int
    kind: str
    ticket: int | None
    status: str
    handle: str
    handle_reason: str
    in_reply_to: str | None
    text: str
    remote_id: str | None
    url: str | None
    reason: str
    idempotency_key: str
    created_at: datetime
    sent_at: datetime | None


class NoteIn(Schema):
    text: str = Field(min_length=1, max_length=10_000)


class StatusIn(Schema):
    status: Literal["open", "pending", "solved", "closed"]


class AssignIn(Schema):
    assignee: str | None
    # Used only when taking the ticket skips the one Play would give next.
    reason: str = Field(default="", max_length=2_000)


class HandleChoiceOut(Schema):
    handle: str
    reason: str


class IntentIn(Schema):
    intent: Intent


class HandBackIn(Schema):
    reason: str = Field(max_length=2_000)
    category: str = Field(max_length=50)


class EscalateIn(Schema):
    category: str = Field(max_length=50)
    note: str = Field(default="", max_length=2_000)


class SpamReportIn(Schema):
    url: str = Field(default="", max_length=2_000)


class DraftOut(Schema):
    draft: str


class DirectMessageIn(Schema):
    text: str = Field(min_length=1, max_length=10_000)
    purpose: str = Field(default="", max_length=300)


class SearchHitOut(TicketOut):
    score: float


class EvidenceSourceOut(Schema):
    source: str
    configured: bool
    error: str
    items: list[dict[str, object]]


class DraftReplyOut(Schema):
    macro: str
    text: str
    length: int
    fits: bool


class EvidenceOut(Schema):
    sources: list[EvidenceSourceOut]
    similar: list[SearchHitOut]
    drafts: list[DraftReplyOut]
    variables: dict[str, str]


class SavedSearchIn(Schema):
    name: str = Field(min_length=1, max_length=80)
    query: str = Field(min_length=1, max_length=500)
    is_shared: bool = Field(
        default=False, description="shared with the whole team (leads and admins only)"
    )


class SavedSearchPatchIn(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=80)
    query: str | None = Field(default=None, min_length=1, max_length=500)
    is_shared: bool | None = None


class SavedSearchOut(Schema):
    id: int
    name: str
    query: str
    is_shared: bool
    owner: str
    count: int | None = Field(
        default=None,
        description="tickets the search finds now, counted up to the cap (`more` past it); "
        "only in the list",
    )
    more: bool = False


class BulkIn(Schema):
    tickets: list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] = Field(min_length=1, max_length=100)
    action: Literal["assign", "solve", "intent"]
    assignee: str | None = Field(
        default=None, description='"assign": the username, or null to unassign'
    )
    intent: Intent | None = Field(default=None, description='"intent": the label to set')


class BulkSkippedOut(Schema):
    ticket: int
    reason: str


class BulkOut(Schema):
    action: str
    done: list[int]
    skipped: list[BulkSkippedOut]
    summary: str
