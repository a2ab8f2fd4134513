"""The desk's HTML screens: the queue, play mode and the ticket page.

Thin: parse, call one selector or service, render. A DomainError from a service is shown on
the page (next to its form, or as a message when it is about who may act), with its status
code, never as a 500. HTMX requests get a partial of the same template, so the two never
drift; boosted navigation (`HX-Boosted`) gets the full page like any browser."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlencode

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from mentiondesk.accounts.models import User
from mentiondesk.core.errors import DomainError, Forbidden, NotFound
from mentiondesk.replies import services as reply_services
from mentiondesk.tickets import selectors, services
from mentiondesk.tickets.constants import DEFAULT_VIEW, VIEWS
from mentiondesk.tickets.forms import (
    NoteForm,
    PlayForm,
    QueueForm,
    ReassignForm,
    ReplyForm,
    StatusForm,
)
from mentiondesk.tickets.models import Ticket

# The queue shows the oldest tickets first; past this many, the counts say how many more.
QUEUE_ROWS = 100


def _user(request: HttpRequest) -> User:
    # Every view here is login_required: the user is an authenticated accounts.User.
    return cast(User, request.user)


def _wants_partial(request: HttpRequest) -> bool:
    """An hx-get/hx-post from the page itself (polling), not a boosted navigation."""
    return (
        request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"
    )


def _queue_url(view: str) -> str:
    return f"{reverse('tickets:queue')}?{urlencode({'view': view})}"


@require_GET
@login_required
def queue(request: HttpRequest) -> HttpResponse:
    view = QueueForm(request.GET).view_slug()
    context = {
        "current_view": VIEWS[view],
        "tickets": selectors.ticket_list(view=view)[:QUEUE_ROWS],
        "queue_rows": QUEUE_ROWS,
        "oob": _wants_partial(request),
    }
    template = "tickets/queue.html#ticket-rows" if context["oob"] else "tickets/queue.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
@login_required
def play_next(request: HttpRequest) -> HttpResponse:
    form = PlayForm(request.POST)
    view = (form.cleaned_data["view"] if form.is_valid() else "") or DEFAULT_VIEW
    try:
        ticket = services.ticket_next(user=_user(request), view=view)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_queue_url(view))
    if ticket is None:
        messages.info(request, "Queue is clear: nobody is waiting for an answer. Nice work.")
        return redirect(_queue_url(view))
    return redirect("tickets:detail", ticket_id=ticket.pk)


@require_GET
@login_required
def detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _detail(request, ticket_id)


@require_GET
@login_required
def activity(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The conversation and unsent replies, polled while a reply is on its way; the header
    and the events timeline ride along as out-of-band swaps."""
    response = _detail(request, ticket_id, template="tickets/detail.html#ticket-activity")
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
@login_required
def reply(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket(ticket_id)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _detail(request, ticket_id, status=400, reply_form=form)
    try:
        created = reply_services.reply_create(
            ticket=ticket,
            author=_user(request),
            text=form.cleaned_data["text"],
            idempotency_key=form.cleaned_data["idempotency_key"],
            status_after=form.cleaned_data["status_after"],
        )
    except DomainError as exc:
        return _rejected(request, ticket_id, exc, reply_form=form)
    solved = " and the ticket is solved" if created.ticket.status == Ticket.Status.SOLVED else ""
    messages.success(request, f"Reply queued from @{created.handle.username}{solved}.")
    return redirect("tickets:detail", ticket_id=ticket_id)


@require_POST
@login_required
def assign_to_me(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket(ticket_id)
    try:
        services.ticket_assign(ticket=ticket, assignee=_user(request), by=_user(request))
    except DomainError as exc:
        return _rejected(request, ticket_id, exc)
    messages.success(request, f"Ticket #{ticket_id} is yours.")
    return redirect("tickets:detail", ticket_id=ticket_id)


@require_POST
@login_required
def reassign(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket(ticket_id)
    form = ReassignForm(request.POST)
    if not form.is_valid():
        return _detail(request, ticket_id, status=400, reassign_form=form)
    assignee = form.cleaned_data["assignee"]
    try:
        services.ticket_assign(ticket=ticket, assignee=assignee, by=_user(request))
    except DomainError as exc:
        return _rejected(request, ticket_id, exc, reassign_form=form)
    who = assignee.username if assignee else "nobody"
    messages.success(request, f"Ticket #{ticket_id} assigned to {who}.")
    return redirect("tickets:detail", ticket_id=ticket_id)


@require_POST
@login_required
def status(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket(ticket_id)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _detail(request, ticket_id, status=400, status_form=form)
    try:
        changed = services.ticket_status_set(
            ticket=ticket, status=form.cleaned_data["status"], by=_user(request)
        )
    except DomainError as exc:
        return _rejected(request, ticket_id, exc, status_form=form)
    messages.success(request, f"Ticket #{ticket_id} is {changed.get_status_display().lower()}.")
    return redirect("tickets:detail", ticket_id=ticket_id)


@require_POST
@login_required
def note(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket(ticket_id)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _detail(request, ticket_id, status=400, note_form=form)
    try:
        services.ticket_note_add(ticket=ticket, by=_user(request), text=form.cleaned_data["text"])
    except DomainError as exc:
        return _rejected(request, ticket_id, exc, note_form=form)
    messages.success(request, "Note added.")
    return redirect("tickets:detail", ticket_id=ticket_id)


def _ticket(ticket_id: int) -> Ticket:
    try:
        return selectors.ticket_get(ticket_id=ticket_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _rejected(
    request: HttpRequest, ticket_id: int, exc: DomainError, **bound: django_forms.Form
) -> HttpResponse:
    """Show a service's refusal: who-may-act refusals as a page message, the rest next to the
    form that was sent (on its field when the service named one)."""
    form = next(iter(bound.values()), None)
    if isinstance(exc, Forbidden) or form is None:
        messages.error(request, exc.message)
    else:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    return _detail(request, ticket_id, status=exc.status_code, **bound)


def _detail(
    request: HttpRequest,
    ticket_id: int,
    *,
    status: int = 200,
    template: str = "tickets/detail.html",
    **bound: django_forms.Form,
) -> HttpResponse:
    try:
        page = selectors.ticket_get_for_page(ticket_id=ticket_id, viewer=_user(request))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context: dict[str, Any] = {
        "page": page,
        "ticket": page.ticket,
        "reply_form": ReplyForm(),
        "note_form": NoteForm(),
        "status_form": StatusForm(initial={"status": page.ticket.status}),
        "reassign_form": ReassignForm(initial={"assignee": page.ticket.assignee_id}),
        "play_view": DEFAULT_VIEW,
        "oob": _wants_partial(request),
        **bound,
    }
    response = render(request, template, context, status=status)
    if status >= 400 and request.headers.get("HX-Request") == "true":
        # A boosted form that failed re-renders the ticket: keep the ticket's address in the
        # location bar rather than the POST-only endpoint's.
        response["HX-Replace-Url"] = reverse("tickets:detail", args=[ticket_id])
    return response
