"""The shape every GET page for some roles only shares (the audit log, the costs, the reports):
the selector layer says who may read (its `<app>_viewer_check` raises Forbidden), and the page
answers anyone else with its own template showing the refusal, 403, before any of the query
string is read (filters name handles and users, not for everyone to probe).

The POST forms' counterpart is `forms_flow` (a service's Forbidden shown as a message)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec, Protocol, TypeVar, cast

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render

from mentiondesk.accounts.models import User
from mentiondesk.core.errors import Forbidden

P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponseBase)


class ViewerCheck(Protocol):
    def __call__(self, *, viewer: User) -> None: ...


def viewer_required(
    check: ViewerCheck, *, template: str
) -> Callable[
    [Callable[Concatenate[HttpRequest, P], R]],
    Callable[Concatenate[HttpRequest, P], R | HttpResponse],
]:
    """Decorate a login_required GET view: `check(viewer=...)` first; its Forbidden renders
    `template` with `forbidden` (the refusal) and status 403, and the view is not called."""

    def decorate(
        view: Callable[Concatenate[HttpRequest, P], R],
    ) -> Callable[Concatenate[HttpRequest, P], R | HttpResponse]:
        @wraps(view)
        def checked(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> R | HttpResponse:
            try:
                # Under login_required: the user is an authenticated accounts.User.
                check(viewer=cast(User, request.user))
            except Forbidden as exc:
                return render(request, template, {"forbidden": exc.message}, status=403)
            return view(request, *args, **kwargs)

        return checked

    return decorate
