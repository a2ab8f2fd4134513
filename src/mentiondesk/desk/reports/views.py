"""The reports page for leads and admins: filters and chart cards. The figures come from
GET /api/v1/reports/summary, fetched by static/reports/reports.js (no inline script), so the
page and scripts read the same numbers. Anyone else gets the page with the refusal, 403."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from mentiondesk.channels.models import Network
from mentiondesk.core.intents import Intent
from mentiondesk.desk.viewers import viewer_required
from mentiondesk.reports import selectors

TEMPLATE = "reports/reports.html"
FILTERS = ("from", "to", "network", "handle", "intent", "agent")


@require_GET
@login_required
@viewer_required(selectors.report_viewer_check, template=TEMPLATE)
def reports(request: HttpRequest) -> HttpResponse:
    default = selectors.report_filters()
    # The query string as given: the API checks it and the page shows what it says.
    values = {name: request.GET.get(name, "").strip() for name in FILTERS}
    values["from"] = values["from"] or default.date_from.isoformat()
    values["to"] = values["to"] or default.date_to.isoformat()
    return render(
        request,
        TEMPLATE,
        {
            "values": values,
            "time_zone": default.time_zone.key,
            "networks": Network.choices,
            "handles": selectors.report_handles(),
            "intents": [(v, label) for v, label in Intent.choices if v],
            "agents": selectors.report_agents(),
            "api_url": reverse("api:report_summary"),
        },
    )
