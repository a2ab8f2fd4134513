"""What open pages ask for beside their own polls: the queue page's pulse (has a ticket entered
the view?), and on the ticket page the "new post arrived" banner above the composer and the
composer's macro picker. Thin: read one selector, render a partial of the page's template
(the pulse: a few bytes of JSON)."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from mentiondesk.accounts.models import User
from mentiondesk.core.errors import NotFound
from mentiondesk.core.logs import quiet_log
from mentiondesk.desk.tickets.forms import QueueForm
from mentiondesk.replies import evidence as ticket_evidence
from mentiondesk.tickets import selectors
from mentiondesk.tickets.models import Ticket


@quiet_log
@require_GET
@never_cache
@login_required
def queue_pulse(request: HttpRequest) -> JsonResponse:
    """Asked every second by an open queue page (app.js): the view's version, the id of its
    newest ticket. The page redraws its rows when it changed, so a new ticket shows within
    about a second of being stored, while an unchanged view costs one small query and no
    template (bench/arrival.py)."""
    view = QueueForm(request.GET).view_slug()
    # login_required: the user is an authenticated accounts.User.
    viewer = cast(User, request.user)
    return JsonResponse({"version": selectors.ticket_view_version(view=view, viewer=viewer)})


@quiet_log
@require_GET
@login_required
def arrivals(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The banner above the composer, polled while the page is open: the posts that arrived
    since `seen_post_id` (the newest post the composer showed, as a send carries it), nothing
    when none did. A send is refused for exactly these (`ticket_posts_since`): the banner says
    so while the agent is still typing. With them comes the composer's "In reply to" line as
    it now is."""
    ticket = _ticket(ticket_id)
    posts = selectors.ticket_posts_since(
        ticket=ticket, seen_post_id=request.GET.get("seen_post_id", "")
    )
    # The composer's "In reply to" line follows: the send threads to the newest post.
    latest = selectors.ticket_latest_inbound(ticket=ticket) if posts else None
    return render(request, "tickets/detail.html#arrivals", {"arrived": posts, "latest": latest})


@require_GET
@login_required
def macros(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The composer's macro picker, fetched when it is first opened: every macro of the
    policy, filled with what the desk knows of the ticket; what it does not know stays a
    "{name}" placeholder to edit."""
    found = ticket_evidence.ticket_macros_get(ticket=_ticket(ticket_id))
    return render(request, "tickets/detail.html#macro-list", {"macros": found})


def _ticket(ticket_id: int) -> Ticket:
    try:
        return selectors.ticket_get(ticket_id=ticket_id, with_conversation=False)
    except NotFound as exc:
        raise Http404(exc.message) from exc
