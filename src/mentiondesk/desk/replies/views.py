"""The stream column (handles that answer from a live column, the seed's TweetDeck) and the
status update page (availability news from the status handle).

Thin, like the ticket screens: parse, call one selector or service, render. A refusal is
shown next to its form (or as a message when it is about who may act) with its status code;
the stream's polling gets a partial of the same template."""

from __future__ import annotations

from typing import Any, cast

from django import forms as django_forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from mentiondesk.accounts.models import User
from mentiondesk.channels import selectors as channel_selectors
from mentiondesk.channels.models import Post
from mentiondesk.core.errors import DomainError, NotFound
from mentiondesk.desk.forms_flow import Act, Data, Done, page_render, page_submit, wants_partial
from mentiondesk.desk.tickets import pages
from mentiondesk.desk.tickets.forms import LikeForm, StatusUpdateForm, StreamReplyForm
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

    def act(data: Data) -> Done:
        reply = services.stream_reply(
            post=post,
            by=_user(request),
            text=data["text"],
            idempotency_key=data["idempotency_key"],
            another_reply=data["another_reply"],
        )
        return Done(f"Reply queued from @{reply.handle.username} to @{post.author_username}.")

    return _stream_submit(request, remote_id, StreamReplyForm(request.POST), "reply_form", act)


@require_POST
@login_required
def stream_like(request: HttpRequest, remote_id: str) -> HttpResponse:
    post = _post(remote_id)

    def act(data: Data) -> Done:
        services.post_like(post=post, by=_user(request), reason=data["reason"])
        return Done(f"Liking @{post.author_username}'s post.")

    return _stream_submit(request, remote_id, LikeForm(request.POST), "like_form", act)


def _post(remote_id: str) -> Post:
    try:
        return channel_selectors.post_get(remote_id=remote_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _stream_submit(
    request: HttpRequest, remote_id: str, form: django_forms.Form, form_key: str, act: Act
) -> HttpResponse:
    """`page_submit` on the stream, for the row of `remote_id`; back to the stream when done."""

    def page(status: int, extra: dict[str, Any] | None = None) -> HttpResponse:
        # `form_key` is a *_form key: it cannot land on template, target or extra.
        bound: dict[str, Any] = {form_key: form}
        return _stream(request, status=status, target=remote_id, extra=extra, **bound)

    def collision(exc: DomainError) -> HttpResponse | None:
        if not isinstance(exc, services.Collision):
            return None
        return page(
            exc.status_code, {"collision": exc.changes, "collision_answered": bool(exc.answered)}
        )

    return page_submit(
        request, form, act, to=reverse("replies:stream"), page=page, refused=collision
    )


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
    return page_render(request, template, context, status=status, url=reverse("replies:stream"))


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

    def act(data: Data) -> Done:
        update = services.status_update_create(
            by=_user(request),
            text=data["text"],
            incident_url=data["incident_url"],
            follow_up_open_reports=data["follow_up_open_reports"],
        )
        follow_up = (
            " Once it is out, every open availability ticket gets a follow-up."
            if update.follow_up_open_reports
            else ""
        )
        return Done(f"Status update queued from @{update.handle.username}.{follow_up}")

    return page_submit(
        request,
        form,
        act,
        to=reverse("replies:status"),
        page=lambda status: _status(request, status=status, form=form),
    )


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
    return page_render(request, template, context, status=status, url=reverse("replies:status"))
