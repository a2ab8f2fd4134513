"""Reports over the REST API: the figures behind the reports page's charts, for scripts too.
Leads and admins only; anyone else gets the JSON 403.

Besides the bearer token, the signed-in session of the reports page is accepted: the page's
charts read this endpoint from the browser. It is read-only (GET), so no CSRF token is due."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router
from ninja.security import SessionAuth

from mentiondesk.accounts.models import User
from mentiondesk.core.errors import DomainError
from mentiondesk.desk.auth import BearerToken
from mentiondesk.reports import selectors

from .schemas import ReportIn, ReportOut

router = Router(tags=["reports"], auth=[BearerToken(), SessionAuth()])


@router.get(
    "/reports/summary",
    response=ReportOut,
    by_alias=True,
    url_name="report_summary",
    summary="Ticket volume, first-response times, backlog and % within SLA, per network too"
    " (leads and admins)",
)
def report_summary(request: HttpRequest, filters: Query[ReportIn]) -> dict[str, Any]:
    user = request.auth  # type: ignore[attr-defined]
    if not isinstance(user, User):
        raise DomainError("not authenticated")
    # Before the filters are read: they name handles and users, not for everyone to probe.
    selectors.report_viewer_check(viewer=user)
    report = selectors.report_get(
        viewer=user,
        filters=selectors.report_filters(
            date_from=filters.date_from,
            date_to=filters.date_to,
            handle=filters.handle,
            intent=filters.intent,
            agent=filters.agent,
            network=filters.network,
        ),
    )
    return selectors.report_as_dict(report)
