"""Screens over many tickets at once: saved searches (create, rename, delete) and leads'
bulk actions from the queue and the search results. Thin, as the other ticket views: parse,
call one service, say what happened, and go back where the person was."""

from __future__ import annotations

from typing import cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from mentiondesk.accounts.models import User
from mentiondesk.core.errors import NotFound
from mentiondesk.desk.forms_flow import Data, Done, back_submit
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


@require_POST
@login_required
def saved_search_create(request: HttpRequest) -> HttpResponse:
    def act(data: Data) -> Done:
        saved = saved_searches.saved_search_create(
            owner=_user(request),
            name=data["name"],
            query=data["q"],
            is_shared=data["is_shared"],
        )
        shared = " and shared with the team" if saved.is_shared else ""
        return Done(
            f"Saved as “{saved.name}”{shared}: it is in the sidebar.",
            to=_search_url(saved.query, saved.pk),
        )

    back = _search_url(request.POST.get("q", ""))
    return back_submit(request, SavedSearchForm(request.POST), act, back=back)


@require_POST
@login_required
def saved_search_rename(request: HttpRequest, saved_search_id: int) -> HttpResponse:
    saved = _saved(request, saved_search_id)

    def act(data: Data) -> Done:
        renamed = saved_searches.saved_search_update(
            saved_search=saved, by=_user(request), name=data["name"]
        )
        return Done(f"Renamed to “{renamed.name}”.")

    back = _search_url(saved.query, saved.pk)
    return back_submit(request, SavedSearchRenameForm(request.POST), act, back=back)


@require_POST
@login_required
def saved_search_delete(request: HttpRequest, saved_search_id: int) -> HttpResponse:
    saved = _saved(request, saved_search_id)

    def act(data: Data) -> Done:
        saved_searches.saved_search_delete(saved_search=saved, by=_user(request))
        return Done(f"Deleted the saved search “{saved.name}”.", to=_search_url(saved.query))

    return back_submit(request, None, act, back=_search_url(saved.query, saved.pk))


@require_POST
@login_required
def bulk_apply(request: HttpRequest) -> HttpResponse:
    """A lead's bulk action; back to the page it came from with the summary ("12 solved,
    1 skipped: #34 has a reply sending"). Agents get the service's 403 as a message."""
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ) or not back.startswith("/"):
        back = reverse("tickets:queue")

    def act(data: Data) -> Done:
        result = bulk.tickets_bulk_apply(
            ticket_ids=data["ticket"],
            action=data["action"],
            by=_user(request),
            assignee=data["assignee"],
            intent=data["intent"],
        )
        level = messages.WARNING if result.skipped else messages.SUCCESS
        return Done(result.summary() + ".", level=level)

    return back_submit(
        request,
        BulkForm(request.POST),
        act,
        back=back,
        invalid_message="Choose an action for the selected tickets.",
    )
