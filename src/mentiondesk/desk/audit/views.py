"""The audit log page for leads and admins: a filterable table of every ticket event, and
CSV/JSON downloads of what the filters select.

Thin: parse, call the selectors, render. Anyone else gets the page with the refusal, 403."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from mentiondesk.audit import selectors
from mentiondesk.audit.constants import EXPORT_CONTENT_TYPES, EXPORT_FORMATS
from mentiondesk.core.errors import DomainError
from mentiondesk.desk.audit.forms import AuditFilterForm
from mentiondesk.desk.viewers import viewer_required
from mentiondesk.tickets.models import TicketEvent

TEMPLATE = "audit/events.html"
# Events per page; the export has them all.
PAGE_ROWS = 100


@require_GET
@login_required
@viewer_required(selectors.audit_viewer_check, template=TEMPLATE)
def events(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    # People open the log to see what just happened: its first page is the newest.
    qs = _filtered(form, newest_first=True)
    if qs is None:
        return render(request, TEMPLATE, {"form": form, "formats": EXPORT_FORMATS}, status=400)
    page = Paginator(qs, PAGE_ROWS).get_page(request.GET.get("page"))
    return render(
        request,
        TEMPLATE,
        {"form": form, "page_obj": page, "events": page.object_list, "formats": EXPORT_FORMATS},
    )


@require_GET
@login_required
@viewer_required(selectors.audit_viewer_check, template=TEMPLATE)
def export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """`?format=csv|json` plus the page's filters: the download, streamed."""
    form = AuditFilterForm(request.GET)
    qs = _filtered(form)
    fmt = request.GET.get("format", "csv")
    if qs is not None and fmt not in EXPORT_FORMATS:
        form.add_error(None, f"Unknown export format {fmt!r}: use CSV or JSON.")
        qs = None
    if qs is None:
        return render(request, TEMPLATE, {"form": form, "formats": EXPORT_FORMATS}, status=400)
    response = StreamingHttpResponse(
        selectors.audit_export(events=qs, fmt=fmt), content_type=EXPORT_CONTENT_TYPES[fmt]
    )
    # Never None when as_attachment is true; django-stubs types the general case.
    response["Content-Disposition"] = content_disposition_header(  # type: ignore[assignment]
        as_attachment=True, filename=selectors.audit_export_filename(fmt=fmt)
    )
    return response


def _filtered(form: AuditFilterForm, *, newest_first: bool = False) -> QuerySet[TicketEvent] | None:
    """The events `form` selects, or None with the errors on the form."""
    if not form.is_valid():
        return None
    try:
        return selectors.audit_events(**form.filters(), newest_first=newest_first)
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return None
