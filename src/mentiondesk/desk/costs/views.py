"""The cost page for leads and admins: X API spend per day, handle and kind, the most
expensive tickets, and the month against its budget. Anyone else gets the refusal, 403."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mentiondesk.core.errors import DomainError
from mentiondesk.costs import selectors
from mentiondesk.desk.viewers import viewer_required
from mentiondesk.policy.selectors import policy_current

from .forms import CostFilterForm

TEMPLATE = "costs/page.html"


@require_GET
@login_required
@viewer_required(selectors.costs_viewer_check, template=TEMPLATE)
def page(request: HttpRequest) -> HttpResponse:
    form = CostFilterForm(request.GET)
    if not form.is_valid():
        return render(request, TEMPLATE, {"form": form}, status=400)
    try:
        usage = selectors.usage_filtered(**form.cleaned_data)
    except DomainError as exc:
        form.add_error(exc.field, exc.message)
        return render(request, TEMPLATE, {"form": form}, status=400)
    billing = policy_current().x_billing
    return render(
        request,
        TEMPLATE,
        {
            "form": form,
            "billing": billing,
            # [x_billing] is optional: without it calls are counted, not priced, and the
            # template must not look `billing.currency` up on None (a filter argument that
            # fails to resolve raises instead of rendering empty).
            "currency": billing.currency if billing else "",
            "budget": selectors.budget_status(),
            "total": selectors.usage_total(usage=usage),
            "by_day_handle": selectors.usage_grouped(usage=usage, by=("day", "handle")),
            "by_kind": selectors.usage_grouped(usage=usage, by=("kind",)),
            "top_tickets": selectors.usage_top_tickets(usage=usage),
        },
    )
