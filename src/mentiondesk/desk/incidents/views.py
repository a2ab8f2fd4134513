"""The incident card's two buttons: answer every grouped report, and mark it resolved. The card
itself is drawn on the queue (tickets/queue.html includes incidents/surge-cards.html).

Thin: parse, call one service, say what happened, back to the queue."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from mentiondesk.accounts.models import User
from mentiondesk.core.errors import NotFound
from mentiondesk.desk.forms_flow import Data, Done, back_submit
from mentiondesk.incidents import selectors, services
from mentiondesk.incidents.models import Surge

from .forms import SurgeReplyForm


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _surge(surge_id: int) -> Surge:
    try:
        return selectors.surge_get(surge_id=surge_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@require_POST
@login_required
def reply_all(request: HttpRequest, surge_id: int) -> HttpResponse:
    surge = _surge(surge_id)

    def act(data: Data) -> Done:
        done = services.surge_reply_all(
            surge=surge, by=_user(request), incident_url=data["incident_url"]
        )
        text = f"Incident reply queued on {len(done.queued)} tickets"
        if done.already:
            text += f"; {len(done.already)} already had it"
        if done.skipped:
            text += f"; {len(done.skipped)} skipped (see the card)"
        return Done(text + ".")

    return back_submit(
        request,
        SurgeReplyForm(request.POST),
        act,
        back=reverse("tickets:queue"),
        invalid_message="The incident link is not a valid URL.",
    )


@require_POST
@login_required
def resolve(request: HttpRequest, surge_id: int) -> HttpResponse:
    def act(data: Data) -> Done:
        surge = services.surge_resolve(surge=_surge(surge_id), by=_user(request))
        return Done(f"Incident card #{surge.pk} resolved; the follow-ups are on their way.")

    return back_submit(request, None, act, back=reverse("tickets:queue"))
