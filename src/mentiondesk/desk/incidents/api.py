"""Incident cards (outage surges) through the API: list them, answer every grouped report in
one call, and mark the incident resolved (which follows up once)."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema

from mentiondesk.desk.auth import api_user
from mentiondesk.incidents import selectors, services
from mentiondesk.incidents.models import Surge

from .schemas import SurgeOut, SurgeRepliesOut, SurgeReplyIn

router = Router(tags=["incidents"])


def surge_out(surge: Surge) -> dict[str, object]:
    return {
        "id": surge.pk,
        "network": surge.network,
        "status": surge.status,
        "opened_at": surge.opened_at,
        "threshold": surge.threshold,
        "window_minutes": surge.window_minutes,
        "incident_id": surge.incident_remote_id or None,
        "incident_url": surge.incident_url or None,
        "incident_title": surge.incident_title or None,
        "incident_status": surge.incident_status or None,
        "replied_at": surge.replied_at,
        "replied_by": surge.replied_by.username if surge.replied_by else None,
        "reply_url": surge.reply_url or None,
        "resolved_at": surge.resolved_at,
        "resolved_by": surge.resolved_by.username if surge.resolved_by else None,
        "resolved_source": surge.resolved_source or None,
        "followed_up_at": surge.followed_up_at,
        "tickets": [
            {
                "ticket": m.ticket_id,
                "requester": m.ticket.requester_username,
                "reply": m.reply_id,
                "reply_status": m.reply.status if m.reply else None,
                "reply_skipped": m.reply_skipped,
                "follow_up": m.follow_up_id,
                "follow_up_status": m.follow_up.status if m.follow_up else None,
                "follow_up_skipped": m.follow_up_skipped,
            }
            for m in surge.members.all()
        ],
    }


class SurgeFilters(Schema):
    status: Literal["open", "resolved"] | None = None


@router.get("/incidents", response=list[SurgeOut], summary="Incident cards, newest first")
def surge_list(request: HttpRequest, filters: Query[SurgeFilters]) -> list[dict[str, object]]:
    return [surge_out(s) for s in selectors.surge_list(status=filters.status)[:50]]


@router.get("/incidents/{surge_id}", response=SurgeOut, summary="One incident card")
def surge_detail(request: HttpRequest, surge_id: int) -> dict[str, object]:
    return surge_out(selectors.surge_get(surge_id=surge_id))


@router.post(
    "/incidents/{surge_id}/reply",
    response=SurgeRepliesOut,
    summary="Reply to every grouped report with the incident link (each once, threaded)",
)
def surge_reply(request: HttpRequest, surge_id: int, payload: SurgeReplyIn) -> dict[str, object]:
    surge = selectors.surge_get(surge_id=surge_id)
    done = services.surge_reply_all(
        surge=surge, by=api_user(request), incident_url=payload.incident_url
    )
    return {
        "surge": surge_out(selectors.surge_get(surge_id=surge_id)),
        "queued": done.queued,
        "already": done.already,
        "skipped": {str(k): v for k, v in done.skipped.items()},
    }


@router.post(
    "/incidents/{surge_id}/resolve",
    response=SurgeOut,
    summary="Mark the incident resolved; every grouped report gets the follow-up once",
)
def surge_resolve(request: HttpRequest, surge_id: int) -> dict[str, object]:
    surge = selectors.surge_get(surge_id=surge_id)
    services.surge_resolve(surge=surge, by=api_user(request))
    return surge_out(selectors.surge_get(surge_id=surge_id))
