"""The audit log over the REST API: browse events, or download them as CSV or JSON.
Leads and admins only; anyone else gets the JSON 403."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils.http import content_disposition_header
from ninja import Query, Router

from mentiondesk.audit import selectors
from mentiondesk.audit.constants import EXPORT_CONTENT_TYPES
from mentiondesk.desk.auth import api_user
from mentiondesk.tickets.models import TicketEvent

from .schemas import AuditEventListOut, AuditExportIn, AuditFiltersIn, AuditListIn

router = Router(tags=["audit"])


def audit_event_out(event: TicketEvent) -> dict[str, object]:
    return {
        "id": event.pk,
        "created_at": event.created_at,
        "ticket": event.ticket_id,
        "kind": event.kind,
        "actor": event.actor.username if event.actor else None,
        "message": event.message,
        "data": event.data,
    }


@router.get(
    "/audit/events",
    response=AuditEventListOut,
    summary="Audit events, oldest first (leads and admins)",
)
def audit_event_list(request: HttpRequest, filters: Query[AuditListIn]) -> dict[str, object]:
    selectors.audit_viewer_check(viewer=api_user(request))
    qs = _events(filters)
    items = qs[filters.offset : filters.offset + filters.limit]
    return {"count": qs.count(), "items": [audit_event_out(e) for e in items]}


@router.get(
    "/audit/export",
    summary="Download audit events as CSV or JSON (leads and admins)",
    openapi_extra={
        "responses": {
            200: {
                "description": "A file download, streamed: CSV with a header row, or one JSON"
                " array of events",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/json": {
                        "schema": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/AuditEventOut"},
                        }
                    },
                },
            }
        }
    },
)
def audit_export(request: HttpRequest, filters: Query[AuditExportIn]) -> StreamingHttpResponse:
    selectors.audit_viewer_check(viewer=api_user(request))
    chunks = selectors.audit_export(events=_events(filters), fmt=filters.format)
    response = StreamingHttpResponse(chunks, content_type=EXPORT_CONTENT_TYPES[filters.format])
    # Never None when as_attachment is true; django-stubs types the general case.
    response["Content-Disposition"] = content_disposition_header(  # type: ignore[assignment]
        as_attachment=True, filename=selectors.audit_export_filename(fmt=filters.format)
    )
    return response


def _events(filters: AuditFiltersIn) -> QuerySet[TicketEvent]:
    return selectors.audit_events(
        ticket_id=filters.ticket,
        actor=filters.user,
        kind=filters.kind,
        since=filters.since,
        until=filters.until,
    )
