"""Screens over many tickets at once: saved searches (create, rename, delete) and leads'
bulk actions from the queue and the search results. Thin, as the other ticket views: parse,
call one service, say what happened, and go back where the person was."""

from __future__ import annotations

from typing import cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from mentiondesk.accounts.models import User
from mentiondesk.core.errors import DomainError, NotFound
from mentiondesk.desk.tickets.forms import BulkForm, SavedSearchForm, SavedSearchRenameForm
from mentiondesk.replies.services import bulk
from mentiondesk.tickets import saved_searches
from mentiondesk.tickets.models import SavedSearch


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _saved(request: HttpRequest, saved_search_id: int) -> SavedSearch:
    try:
        return saved_searches.saved_search_get(
            saved_search_id=saved_search_id, viewer=_user(request)
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _search_url(q: str, saved_id: int | None = None) -> str:
    params: dict[str, str | int] = {"q": q}
    if saved_id is not None:
        params["saved"] = saved_id
    return f"{reverse('tickets:search')}?{urlencode(params)}"


def _form_error(request: HttpRequest, form: SavedSearchForm | SavedSearchRenameForm) -> None:
    for field, errors in form.errors.items():
        for error in errors:
            messages.error(request, f"{field}: {error}" if field != "__all__" else str(error))


@require_POST
@login_required
def saved_search_create(request: HttpRequest) -> HttpResponse:
    form = SavedSearchForm(request.POST)
    q = request.POST.get("q", "")
    if not form.is_valid():
        _form_error(request, form)
        return redirect(_search_url(q))
    try:
        saved = saved_searches.saved_search_create(
            owner=_user(request),
            name=form.cleaned_data["name"],
            query=form.cleaned_data["q"],
            is_shared=form.cleaned_data["is_shared"],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_search_url(q))
    shared = " and shared with the team" if saved.is_shared else ""
    messages.success(request, f"Saved as “{saved.name}”{shared}: it is in the sidebar.")
    return redirect(_search_url(saved.query, saved.pk))


@require_POST
@login_required
def saved_search_rename(request: HttpRequest, saved_search_id: int) -> HttpResponse:
    saved = _saved(request, saved_search_id)
    form = SavedSearchRenameForm(request.POST)
    if not form.is_valid():
        _form_error(request, form)
        return redirect(_search_url(saved.query, saved.pk))
    try:
        saved = saved_searches.saved_search_update(
            saved_search=saved, by=_user(request), name=form.cleaned_data["name"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_search_url(saved.query, saved.pk))
    messages.success(request, f"Renamed to “{saved.name}”.")
    return redirect(_search_url(saved.query, saved.pk))


@require_POST
@login_required
def saved_search_delete(request: HttpRequest, saved_search_id: int) -> HttpResponse:
    saved = _saved(request, saved_search_id)
    try:
        saved_searches.saved_search_delete(saved_search=saved, by=_user(request))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_search_url(saved.query, saved.pk))
    messages.success(request, f"Deleted the saved search “{saved.name}”.")
    return redirect(_search_url(saved.query))


@require_POST
@login_required
def bulk_apply(request: HttpRequest) -> HttpResponse:
    """A lead's bulk action; back to the page it came from with the summary ("12 solved,
    1 skipped: #34 has a reply sending"). Agents get the service's 403 as a message."""
    form = BulkForm(request.POST)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ) or not back.startswith("/"):
        back = reverse("tickets:queue")
    if not form.is_valid():
        messages.error(request, "Choose an action for the selected tickets.")
        return redirect(back)
    try:
        result = bulk.tickets_bulk_apply(
            ticket_ids=form.cleaned_data["ticket"],
            action=form.cleaned_data["action"],
            by=_user(request),
            assignee=form.cleaned_data["assignee"],
            intent=form.cleaned_data["intent"],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    level = messages.WARNING if result.skipped else messages.SUCCESS
    messages.add_message(request, level, result.summary() + ".")
    return redirect(back)
