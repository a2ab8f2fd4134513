"""The stream column (handles that answer from a live column, the seed's TweetDeck) and the
status update page (availability news from the status handle).

Thin, like the ticket screens: parse, call one selector or service, render. A refusal is
shown next to its form (or as a message when it is about who may act) with its status code;
the stream's polling gets a partial of the same template."""

from __future__ import annotations

from typing import Any, cast

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from mentiondesk.accounts.models import User
from mentiondesk.channels import selectors as channel_selectors
from mentiondesk.channels.models import Post
from mentiondesk.core.errors import DomainError, Forbidden, NotFound
from mentiondesk.desk.tickets import pages
from mentiondesk.desk.tickets.forms import LikeForm, StatusUpdateForm, StreamReplyForm
from mentiondesk.desk.tickets.views import rendered_error, wants_partial
from mentiondesk.incidents import selectors as surge_selectors
from mentiondesk.replies import services

STREAM_TEMPLATE = "replies/stream.html"
STATUS_TEMPLATE = "replies/status.html"


def _user(request: HttpRequest) -> User:
    # Every view here is login_required: the user is an authenticated accounts.User.
    return cast(User, request.user)


# Stream


@require_GET
@login_required
def stream(request: HttpRequest) -> HttpResponse:
    """The column; polled every few seconds for its rows (paused while a reply is typed)."""
    partial = wants_partial(request)
    response = _stream(
        request, template=f"{STREAM_TEMPLATE}#stream-rows" if partial else STREAM_TEMPLATE
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
@login_required
def stream_reply(request: HttpRequest, remote_id: str) -> HttpResponse:
    post = _post(remote_id)
    form = StreamReplyForm(request.POST)
    if not form.is_valid():
        return _stream(request, status=400, target=remote_id, reply_form=form)
    try:
        reply = services.stream_reply(
            post=post,
            by=_user(request),
            text=form.cleaned_data["text"],
            idempotency_key=form.cleaned_data["idempotency_key"],
            another_reply=form.cleaned_data["another_reply"],
        )
    except services.Collision as exc:
        return _stream(
            request,
            status=exc.status_code,
            target=remote_id,
            extra={"collision": exc.changes, "collision_answered": bool(exc.answered)},
            reply_form=form,
        )
    except DomainError as exc:
        return _stream_rejected(request, exc, target=remote_id, reply_form=form)
    messages.success(
        request, f"Reply queued from @{reply.handle.username} to @{post.author_username}."
    )
    return redirect("replies:stream")


@require_POST
@login_required
def stream_like(request: HttpRequest, remote_id: str) -> HttpResponse:
    post = _post(remote_id)
    form = LikeForm(request.POST)
    if not form.is_valid():
        return _stream(request, status=400, target=remote_id, like_form=form)
    try:
        services.post_like(post=post, by=_user(request), reason=form.cleaned_data["reason"])
    except DomainError as exc:
        return _stream_rejected(request, exc, target=remote_id, like_form=form)
    messages.success(request, f"Liking @{post.author_username}'s post.")
    return redirect("replies:stream")


def _post(remote_id: str) -> Post:
    try:
        return channel_selectors.post_get(remote_id=remote_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _stream_rejected(
    request: HttpRequest, exc: DomainError, *, target: str, **bound: django_forms.Form
) -> HttpResponse:
    form = next(iter(bound.values()))
    if isinstance(exc, Forbidden):
        messages.error(request, exc.message)
    else:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    # `bound` holds forms keyed *_form only: none can land on template, target or extra.
    response = _stream(request, status=exc.status_code, target=target, **bound)  # type: ignore[arg-type]
    rendered_error(response, exc)
    return response


def _stream(
    request: HttpRequest,
    *,
    status: int = 200,
    template: str = STREAM_TEMPLATE,
    target: str = "",
    extra: dict[str, Any] | None = None,
    **bound: django_forms.Form,
) -> HttpResponse:
    context: dict[str, Any] = {
        "page": pages.stream_page_get(viewer=_user(request)),
        # One fresh key per render; each row's key is "<this>-<post id>", so resending the
        # same row's form (double click, back button) queues one reply.
        "key_form": StreamReplyForm(),
        "target": target,
        # Outage surges show here too: stream handles hear about outages as well.
        "surges": surge_selectors.surge_cards(viewer=_user(request)),
        "oob": wants_partial(request),
        **(extra or {}),
        **bound,
    }
    response = render(request, template, context, status=status)
    if status >= 400 and request.headers.get("HX-Request") == "true":
        response["HX-Replace-Url"] = reverse("replies:stream")
    return response


# Status updates


@require_GET
@login_required
def status_updates(request: HttpRequest) -> HttpResponse:
    """The form (for the policy's status posters) and the recent updates with their
    delivery; the list polls itself while an update is on its way."""
    partial = wants_partial(request)
    response = _status(
        request, template=f"{STATUS_TEMPLATE}#status-updates" if partial else STATUS_TEMPLATE
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
@login_required
def status_update_create(request: HttpRequest) -> HttpResponse:
    form = StatusUpdateForm(request.POST)
    if not form.is_valid():
        return _status(request, status=400, form=form)
    try:
        update = services.status_update_create(
            by=_user(request),
            text=form.cleaned_data["text"],
            incident_url=form.cleaned_data["incident_url"],
            follow_up_open_reports=form.cleaned_data["follow_up_open_reports"],
        )
    except DomainError as exc:
        if isinstance(exc, Forbidden):
            messages.error(request, exc.message)
        else:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        response = _status(request, status=exc.status_code, form=form)
        rendered_error(response, exc)
        return response
    follow_up = (
        " Once it is out, every open availability ticket gets a follow-up."
        if update.follow_up_open_reports
        else ""
    )
    messages.success(request, f"Status update queued from @{update.handle.username}.{follow_up}")
    return redirect("replies:status")


def _status(
    request: HttpRequest,
    *,
    status: int = 200,
    template: str = STATUS_TEMPLATE,
    form: StatusUpdateForm | None = None,
) -> HttpResponse:
    context: dict[str, Any] = {
        "page": pages.status_update_page_get(viewer=_user(request)),
        "form": form or StatusUpdateForm(),
        "oob": wants_partial(request),
    }
    response = render(request, template, context, status=status)
    if status >= 400 and request.headers.get("HX-Request") == "true":
        response["HX-Replace-Url"] = reverse("replies:status")
    return response
