from __future__ import annotations

import json
from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.models import Post
from mentiondesk.core.constants import MAX_OFFSET
from mentiondesk.core.errors import DomainError, NotFound
from mentiondesk.desk.auth import api_user
from mentiondesk.desk.sla.schemas import ticket_sla_out
from mentiondesk.integrations.slack import escalations
from mentiondesk.replies import evidence as ticket_evidence
from mentiondesk.replies import selectors as reply_selectors
from mentiondesk.replies import services as reply_services
from mentiondesk.replies.models import Reply
from mentiondesk.replies.services import bulk
from mentiondesk.sla import selectors as sla_selectors
from mentiondesk.tickets import saved_searches, selectors, services
from mentiondesk.tickets import search as ticket_search
from mentiondesk.tickets.constants import DEFAULT_VIEW
from mentiondesk.tickets.gate import ticket_intent_suggested
from mentiondesk.tickets.models import SavedSearch, Ticket, TicketEvent
from mentiondesk.triage.models import TriageResult

from .schemas import (
    AssignIn,
    BulkIn,
    BulkOut,
    DirectMessageIn,
    DraftOut,
    EscalateIn,
    EventOut,
    EvidenceOut,
    HandBackIn,
    HandleChoiceOut,
    IntentIn,
    NoteIn,
    QueueNextIn,
    ReplyCreateIn,
    ReplyOut,
    SavedSearchIn,
    SavedSearchOut,
    SavedSearchPatchIn,
    SearchHitOut,
    SpamReportIn,
    StatusIn,
    TicketDetailOut,
    TicketListOut,
    TicketOut,
)

router = Router(tags=["tickets"])


def ticket_out(ticket: Ticket) -> dict[str, object]:
    return {
        "id": ticket.pk,
        "status": ticket.status,
        "assignee": ticket.assignee.username if ticket.assignee else None,
        "handle": ticket.handle.username,
        "network": ticket.network,
        "requester": ticket.requester_username,
        "requester_id": ticket.requester_remote_id,
        "conversation_id": ticket.conversation_id,
        "subject": ticket.subject,
        "created_at": ticket.created_at,
        "last_inbound_at": ticket.last_inbound_at,
        "first_response_at": ticket.first_response_at,
        "solved_at": ticket.solved_at,
        "intent": ticket.intent,
        "intent_suggested": ticket_intent_suggested(ticket=ticket),
        "escalated_at": ticket.escalated_at,
        "sla": ticket_sla_out(ticket),
    }


def post_out(post: Post) -> dict[str, object]:
    return {
        "remote_id": post.remote_id,
        "direction": post.direction,
        "author": post.author_username,
        "author_id": post.author_remote_id,
        "text": post.text,
        "created_at": post.created_at,
        "in_reply_to": post.in_reply_to_remote_id or None,
        "url": post.url,
    }


def reply_out(reply: Reply) -> dict[str, object]:
    return {
        "id": reply.pk,
        "kind": reply.kind,
        "ticket": reply.ticket_id,
        "status": reply.status,
        "handle": reply.handle.username,
        "handle_reason": reply.handle_reason,
        "in_reply_to": reply.in_reply_to_remote_id or None,
        "text": reply.text,
        "remote_id": reply.post.remote_id if reply.post else None,
        "url": reply.post.url if reply.post else None,
        "reason": reply.reason,
        "idempotency_key": reply.idempotency_key,
        "created_at": reply.created_at,
        "sent_at": reply.sent_at,
    }


class TicketFilters(QueueNextIn):
    status: str | None = None
    intent: str | None = None
    sentiment: str | None = None
    context: str | None = None
    # "due": the nearest SLA deadline first (overdue first of all), instead of oldest first.
    sort: Literal["created", "due"] = "created"
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


@router.get("/tickets", response=TicketListOut, summary="List tickets, oldest created first")
def ticket_list(request: HttpRequest, filters: Query[TicketFilters]) -> dict[str, object]:
    labels = selectors.TriageFilter(
        intent=filters.intent, sentiment=filters.sentiment, context=filters.context
    )
    qs = selectors.ticket_list(
        view=filters.view, status=filters.status, labels=labels, viewer=api_user(request)
    )
    if filters.sort == "due":
        qs = sla_selectors.tickets_by_due(qs)
    items = qs[filters.offset : filters.offset + filters.limit]
    return {"count": qs.count(), "items": [ticket_out(t) for t in items]}


# Before "/tickets/{ticket_id}": ninja's path parameter would take "bulk" as an id.
@router.post(
    "/tickets/bulk",
    response=BulkOut,
    summary="Assign, solve or label many tickets at once (leads and admins), each through "
    "its single-ticket action, in one transaction",
)
def tickets_bulk(request: HttpRequest, payload: BulkIn) -> dict[str, object]:
    assignee = None
    if payload.action == "assign" and payload.assignee is not None:
        assignee = User.objects.filter(username__iexact=payload.assignee, is_active=True).first()
        if assignee is None:
            raise NotFound(f"no active user named {payload.assignee!r}", field="assignee")
    result = bulk.tickets_bulk_apply(
        ticket_ids=payload.tickets,
        action=payload.action,
        by=api_user(request),
        assignee=assignee,
        intent=payload.intent or "",
    )
    return {
        "action": result.action,
        "done": result.done,
        "skipped": [{"ticket": pk, "reason": why} for pk, why in result.skipped],
        "summary": result.summary(),
    }


@router.get(
    "/tickets/{ticket_id}", response=TicketDetailOut, summary="A ticket and its conversation"
)
def ticket_detail(request: HttpRequest, ticket_id: int) -> dict[str, object]:
    ticket = selectors.ticket_get(ticket_id=ticket_id)
    triage = selectors.ticket_first_inbound_triage(ticket=ticket)
    return {
        **ticket_out(ticket),
        "posts": [post_out(p) for p in ticket.posts.all()],
        "triage": triage_out(triage) if triage else None,
    }


def triage_out(triage: TriageResult) -> dict[str, object]:
    return {
        "intent": triage.intent,
        "confidence": triage.intent_confidence,
        "sentiment": triage.sentiment,
        "context": triage.context,
        "source": triage.source,
        "evidence": triage.evidence,
        "corrected_intent": triage.corrected_intent or None,
        "corrected_by": triage.corrected_by.username if triage.corrected_by else None,
        "model_version": triage.model_version,
    }


@router.get("/tickets/{ticket_id}/events", response=list[EventOut], summary="A ticket's event log")
def ticket_events(request: HttpRequest, ticket_id: int) -> list[dict[str, object]]:
    ticket = selectors.ticket_get(ticket_id=ticket_id)
    return [event_out(e) for e in selectors.ticket_events(ticket=ticket)]


def event_out(event: TicketEvent) -> dict[str, object]:
    return {
        "id": event.pk,
        "kind": event.kind,
        "actor": event.actor.username if event.actor else None,
        "message": event.message,
        "data": event.data,
        "created_at": event.created_at,
    }


@router.post(
    "/queue/next",
    response={200: TicketOut, 204: None},
    summary="Play mode: assign the next ticket of a view to me",
)
def queue_next(request: HttpRequest, filters: Query[QueueNextIn]) -> object:
    # The view may come as ?view= or as an optional JSON body {"view": ...}.
    body = QueueNextIn.model_validate(_optional_json(request))
    view = body.view or filters.view or DEFAULT_VIEW
    ticket = services.ticket_next(user=api_user(request), view=view)
    if ticket is None:
        return Status(204, None)
    return ticket_out(selectors.ticket_get(ticket_id=ticket.pk))


@router.post(
    "/tickets/{ticket_id}/replies",
    response={201: ReplyOut},
    summary="Queue a reply; it is sent once, threaded to the requester's latest post",
    description="409 `collision`: the conversation moved on since `seen_post_id`; read it "
    "first. 409 `already_answered`: the requester's latest post already has an answer of ours "
    "(a desk reply on its way or sent, or a post from another client, linked in `detail`); "
    "send again with `another_reply: true` to confirm a deliberate second reply.",
)
def reply_create(request: HttpRequest, ticket_id: int, payload: ReplyCreateIn) -> object:
    ticket = selectors.ticket_get(ticket_id=ticket_id)
    key = payload.idempotency_key or request.headers.get("Idempotency-Key") or None
    reply = reply_services.reply_create(
        ticket=ticket,
        author=api_user(request),
        text=payload.text,
        idempotency_key=key,
        status_after=payload.status_after,
        seen_post_id=payload.seen_post_id,
        another_reply=payload.another_reply,
        reason=payload.reason,
    )
    return Status(201, reply_out(reply_selectors.reply_get(reply_id=reply.pk)))


@router.get("/tickets/{ticket_id}/replies", response=list[ReplyOut], summary="A ticket's replies")
def reply_list(request: HttpRequest, ticket_id: int) -> list[dict[str, object]]:
    ticket = selectors.ticket_get(ticket_id=ticket_id)
    return [reply_out(r) for r in reply_selectors.reply_list(ticket=ticket)]


@router.get("/replies/{reply_id}", response=ReplyOut, summary="One reply and its delivery status")
def reply_detail(request: HttpRequest, reply_id: int) -> dict[str, object]:
    return reply_out(reply_selectors.reply_get(reply_id=reply_id))


@router.post(
    "/replies/{reply_id}/retry",
    response=ReplyOut,
    summary="Send again a reply that needs attention and is proven never sent (leads)",
    description="403 for other roles. 409 `may_have_been_sent`: a send of it may have reached "
    "X and no search of the handle's posts has shown it missing; it is never sent again "
    "blindly. 409 `conflict`: the reply is not waiting for a person, or the conversation "
    "moved on and stopped it (write a new reply).",
)
def reply_retry(request: HttpRequest, reply_id: int) -> dict[str, object]:
    reply = reply_services.reply_retry(
        reply=reply_selectors.reply_get(reply_id=reply_id), by=api_user(request)
    )
    return reply_out(reply_selectors.reply_get(reply_id=reply.pk))


@router.post(
    "/replies/{reply_id}/recheck",
    response=ReplyOut,
    summary="Search X again for a reply that needs attention and may have been sent (leads)",
    description="The reply becomes `sending` while the worker reads the handle's posts: "
    "found → `sent`; missing → `needs_attention` again, and `retry` then accepts it. 403 for "
    "other roles; 409 when it is not waiting or is proven never sent; 400 for a direct message.",
)
def reply_recheck(request: HttpRequest, reply_id: int) -> dict[str, object]:
    reply = reply_services.reply_recheck(
        reply=reply_selectors.reply_get(reply_id=reply_id), by=api_user(request)
    )
    return reply_out(reply_selectors.reply_get(reply_id=reply.pk))


@router.post("/tickets/{ticket_id}/notes", response={201: EventOut}, summary="Add an internal note")
def note_add(request: HttpRequest, ticket_id: int, payload: NoteIn) -> object:
    ticket = selectors.ticket_get(ticket_id=ticket_id)
    event = services.ticket_note_add(ticket=ticket, by=api_user(request), text=payload.text)
    return Status(201, event_out(event))


@router.post("/tickets/{ticket_id}/status", response=TicketOut, summary="Change a ticket's status")
def status_set(request: HttpRequest, ticket_id: int, payload: StatusIn) -> dict[str, object]:
    ticket = selectors.ticket_get(ticket_id=ticket_id)
    ticket = ticket_actions.ticket_status_set(
        ticket=ticket, status=payload.status, by=api_user(request)
    )
    return ticket_out(selectors.ticket_get(ticket_id=ticket.pk))


@router.post(
    "/tickets/{ticket_id}/assign", response=TicketOut, summary="Assign (leads) or take a ticket"
)
def assign(request: HttpRequest, ticket_id: int, payload: AssignIn) -> dict[str, object]:
    ticket = selectors.ticket_get(ticket_id=ticket_id)
    assignee = None
    if payload.assignee is not None:
        assignee = User.objects.filter(username__iexact=payload.assignee, is_active=True).first()
        if assignee is None:
            raise NotFound(f"no active user named {payload.assignee!r}", field="assignee")
    ticket = services.ticket_assign(
        ticket=ticket, assignee=assignee, by=api_user(request), reason=payload.reason
    )
    return ticket_out(selectors.ticket_get(ticket_id=ticket.pk))


class SearchIn(Schema):
    q: str = Field(max_length=500)
    limit: int = Field(default=20, ge=1, le=100)


@router.get(
    "/search",
    response=list[SearchHitOut],
    summary='Search tickets: words, "phrases", status:, intent:, sentiment:, context:, handle:, '
    "requester:, sort:",
)
def search(request: HttpRequest, params: Query[SearchIn]) -> list[dict[str, object]]:
    query = ticket_search.search_parse(text=params.q)
    hits = ticket_search.ticket_search(query=query, limit=params.limit)
    return [{**ticket_out(hit.ticket), "score": hit.score} for hit in hits]


def saved_search_out(
    saved: SavedSearch, *, count: int | None = None, more: bool = False
) -> dict[str, object]:
    return {
        "id": saved.pk,
        "name": saved.name,
        "query": saved.query,
        "is_shared": saved.is_shared,
        "owner": saved.owner.username,
        "count": count,
        "more": more,
    }


@router.get(
    "/saved-searches",
    response=list[SavedSearchOut],
    summary="Your saved searches and the team's shared ones, with their live counts",
)
def saved_search_list(request: HttpRequest) -> list[dict[str, object]]:
    return [
        saved_search_out(c.saved_search, count=c.count, more=c.more)
        for c in saved_searches.saved_search_counts(viewer=api_user(request))
    ]


@router.post(
    "/saved-searches",
    response={201: SavedSearchOut},
    summary="Save a search under a name (leads and admins may share it with the team)",
)
def saved_search_create(request: HttpRequest, payload: SavedSearchIn) -> object:
    saved = saved_searches.saved_search_create(
        owner=api_user(request), name=payload.name, query=payload.query, is_shared=payload.is_shared
    )
    return Status(201, saved_search_out(saved))


@router.patch(
    "/saved-searches/{saved_search_id}",
    response=SavedSearchOut,
    summary="Rename a saved search, change its search or its sharing (its owner, or an admin)",
)
def saved_search_update(
    request: HttpRequest, saved_search_id: int, payload: SavedSearchPatchIn
) -> dict[str, object]:
    saved = saved_searches.saved_search_get(
        saved_search_id=saved_search_id, viewer=api_user(request)
    )
    saved = saved_searches.saved_search_update(
        saved_search=saved,
        by=api_user(request),
        name=payload.name,
        query=payload.query,
        is_shared=payload.is_shared,
    )
    return saved_search_out(saved)


@router.delete(
    "/saved-searches/{saved_search_id}",
    response={204: None},
    summary="Delete a saved search (its owner, or an admin)",
)
def saved_search_delete(request: HttpRequest, saved_search_id: int) -> object:
    saved = saved_searches.saved_search_get(
        saved_search_id=saved_search_id, viewer=api_user(request)
    )
    saved_searches.saved_search_delete(saved_search=saved, by=api_user(request))
    return Status(204, None)


@router.get(
    "/tickets/{ticket_id}/similar",
    response=list[SearchHitOut],
    summary="Solved tickets like this one",
)
def similar(request: HttpRequest, ticket_id: int) -> list[dict[str, object]]:
    ticket = selectors.ticket_get(ticket_id=ticket_id)
    return [
        {**ticket_out(h.ticket), "score": h.score}
        for h in ticket_search.ticket_similar(ticket=ticket)
    ]


@router.get(
    "/tickets/{ticket_id}/evidence",
    response=EvidenceOut,
    summary="Evidence for the answer (status page, issues, forum, helpdesk, similar tickets) "
    "and drafted replies",
)
def evidence(request: HttpRequest, ticket_id: int) -> dict[str, object]:
    ticket = selectors.ticket_get(ticket_id=ticket_id)
    found = ticket_evidence.ticket_evidence_get(ticket=ticket)
    return {
        "sources": [
            {"source": r.source, "configured": r.configured, "error": r.error, "items": r.items}
            for r in found.sources.values()
        ],
        "similar": [{**ticket_out(h.ticket), "score": h.score} for h in found.similar],
        "drafts": [
            {"macro": d.macro, "text": d.text, "length": d.length, "fits": d.fits}
            for d in found.drafts
        ],
        "variables": found.variables,
    }


@router.get(
    "/tickets/{ticket_id}/reply-handle",
    response=HandleChoiceOut,
    summary="Which handle my reply would go out from, and why",
)
def reply_handle(request: HttpRequest, ticket_id: int) -> dict[str, str]:
    ticket = selectors.ticket_get(ticket_id=ticket_id)
    choice = reply_services.reply_handle_choice(ticket=ticket, user=api_user(request))
    return {"handle": choice.handle.username, "reason": choice.reason}


@router.post("/tickets/{ticket_id}/intent", response=TicketOut, summary="Label what it is about")
def intent_set(request: HttpRequest, ticket_id: int, payload: IntentIn) -> dict[str, object]:
    ticket = selectors.ticket_get(ticket_id=ticket_id)
    ticket = ticket_actions.ticket_intent_set(
        ticket=ticket, intent=payload.intent.value, by=api_user(request)
    )
    return ticket_out(selectors.ticket_get(ticket_id=ticket.pk))


@router.post(
    "/tickets/{ticket_id}/hand-back",
    response=TicketOut,
    summary="Give the ticket back to the queue, with a reason and an escalation",
)
def hand_back(request: HttpRequest, ticket_id: int, payload: HandBackIn) -> dict[str, object]:
    ticket = selectors.ticket_get(ticket_id=ticket_id)
    escalations.ticket_hand_back(
        ticket=ticket, by=api_user(request), reason=payload.reason, category=payload.category
    )
    return ticket_out(selectors.ticket_get(ticket_id=ticket_id))


@router.post(
    "/tickets/{ticket_id}/escalate",
    response={201: EventOut},
    summary="Ask the experts of a category in Slack",
)
def escalate(request: HttpRequest, ticket_id: int, payload: EscalateIn) -> object:
    ticket = selectors.ticket_get(ticket_id=ticket_id)
    event = escalations.ticket_escalate(
        ticket=ticket, by=api_user(request), category=payload.category, note=payload.note
    )
    return Status(201, event_out(event))


@router.post(
    "/tickets/{ticket_id}/spam-report",
    response={201: DraftOut},
    summary="Report spam to the abuse channel; returns the thank-you draft",
)
def spam_report(request: HttpRequest, ticket_id: int, payload: SpamReportIn) -> object:
    ticket = selectors.ticket_get(ticket_id=ticket_id)
    draft = escalations.ticket_report_spam(
        ticket=ticket, by=api_user(request), reported_url=payload.url
    )
    return Status(201, {"draft": draft})


@router.post(
    "/tickets/{ticket_id}/direct-messages",
    response={201: ReplyOut},
    summary="Send the requester a direct message (we always write first)",
)
def dm_create(request: HttpRequest, ticket_id: int, payload: DirectMessageIn) -> object:
    ticket = selectors.ticket_get(ticket_id=ticket_id)
    reply = reply_services.dm_create(
        ticket=ticket, by=api_user(request), text=payload.text, purpose=payload.purpose
    )
    return Status(201, reply_out(reply_selectors.reply_get(reply_id=reply.pk)))


def _optional_json(request: HttpRequest) -> dict[str, object]:
    if request.content_type != "application/json" or not request.body.strip():
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, RecursionError):  # nested deeper than the decoder goes: not a body
        raise DomainError("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise DomainError("the request body must be a JSON object")
    return data
