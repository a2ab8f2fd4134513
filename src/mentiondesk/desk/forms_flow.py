"""The shape every POST form of the desk shares, in one place: bind the form, call one service,
say what happened and go on. A form that does not validate, or a service's refusal (a
DomainError), is answered instead, with its status code, never as a 500.

Two ways to answer a failure, one per kind of page:

- `page_submit`: the page the form is on is drawn again (the ticket page, the stream, the
  status updates), the refusal next to its form or as a message; htmx gets the same page.
- `back_submit`: the person goes back where they were with the refusal as a message (saved
  searches, bulk actions, the incident card), for forms whose page is not theirs to redraw.

A view says only what is particular to it: its form, an `act` that calls the service and
returns what to say (`Done`), and how to draw its page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from mentiondesk.core.errors import DomainError, Forbidden
from mentiondesk.integrations.slack.services import SlackUnavailable

# What a valid form gives `act`: its cleaned data (empty for a button without fields).
Data = dict[str, Any]


@dataclass(frozen=True)
class Done:
    """What a service's success says, and where the person goes next (`to`: a URL; None for
    the page the flow was given)."""

    message: str
    to: str | None = None
    level: int = messages.SUCCESS


Act = Callable[[Data], Done]


def wants_partial(request: HttpRequest) -> bool:
    """An hx-get/hx-post from the page itself (polling), not a boosted navigation."""
    return (
        request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"
    )


def rendered_error(response: HttpResponse, exc: DomainError) -> None:
    """Mark a page that shows a refusal: htmx swaps it in even with a 5xx code (Slack not
    configured is a 503), instead of treating it as the server failing."""
    response["X-Desk-Error"] = exc.code


def page_render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int, url: str
) -> HttpResponse:
    """Render a page that forms post to. A boosted form that failed draws the page again: the
    location bar keeps the page's address `url` rather than the POST-only endpoint's."""
    response = render(request, template, context, status=status)
    if status >= 400 and request.headers.get("HX-Request") == "true":
        response["HX-Replace-Url"] = url
    return response


def refusal_show(
    request: HttpRequest, exc: DomainError, form: forms.Form | None, *, may_vanish: bool = False
) -> None:
    """Put a service's refusal where the person will read it. Who-may-act refusals and Slack
    being unavailable (its forms are not shown then) are page messages; the rest goes next to
    the form that was sent, on its field when the service named one. `may_vanish` for forms
    that may be gone from the page drawn again (a post already liked, a ticket taken): only
    a refusal about one of their fields is shown on them."""
    if (
        form is None
        or isinstance(exc, Forbidden | SlackUnavailable)
        or (may_vanish and exc.field not in form.fields)
    ):
        messages.error(request, exc.message)
    else:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def form_submit(
    request: HttpRequest,
    form: forms.Form | None,
    act: Act,
    *,
    to: str,
    invalid: Callable[[], HttpResponse],
    refused: Callable[[DomainError], HttpResponse],
) -> HttpResponse:
    """Validate `form` (None: a button without fields), call `act` with its data, then say
    what it returned and redirect (to `to` unless it named another place). `invalid` and
    `refused` answer a form that does not validate and a service's refusal."""
    if form is not None and not form.is_valid():
        return invalid()
    try:
        done = act(form.cleaned_data if form is not None else {})
    except DomainError as exc:
        return refused(exc)
    messages.add_message(request, done.level, done.message)
    return redirect(done.to or to)


def page_submit(
    request: HttpRequest,
    form: forms.Form | None,
    act: Act,
    *,
    to: str,
    page: Callable[[int], HttpResponse],
    refused: Callable[[DomainError], HttpResponse | None] | None = None,
    may_vanish: bool = False,
) -> HttpResponse:
    """`form_submit` for a form drawn on a page: a form that does not validate draws the page
    again with it, 400; a refusal too, with the refusal's status code (see `refusal_show`).
    `page(status)` draws the page with the form as sent. `refused` may answer a refusal of
    its own first (a reply's collision: the conversation as it is now)."""

    def answer_refusal(exc: DomainError) -> HttpResponse:
        own = refused(exc) if refused is not None else None
        if own is not None:
            return own
        refusal_show(request, exc, form, may_vanish=may_vanish)
        response = page(exc.status_code)
        rendered_error(response, exc)
        return response

    return form_submit(request, form, act, to=to, invalid=lambda: page(400), refused=answer_refusal)


def back_submit(
    request: HttpRequest,
    form: forms.Form | None,
    act: Act,
    *,
    back: str,
    invalid_message: str = "",
) -> HttpResponse:
    """`form_submit` for a form whose failures go back to `back` as messages: the refusal's,
    or `invalid_message` for a form that does not validate (without one, each of its errors,
    named by field)."""

    def invalid() -> HttpResponse:
        if invalid_message or form is None:
            messages.error(request, invalid_message)
            return redirect(back)
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{field}: {error}" if field != "__all__" else str(error))
        return redirect(back)

    def refused(exc: DomainError) -> HttpResponse:
        messages.error(request, exc.message)
        return redirect(back)

    return form_submit(request, form, act, to=back, invalid=invalid, refused=refused)
