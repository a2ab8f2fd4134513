"""The desk's HTML screens: the queue, play mode and the ticket page.

Thin: parse, call one selector or service, render. A DomainError from a service is shown on
the page (next to its form, or as a message when it is about who may act), with its status
code, never as a 500 (`desk/forms_flow.py`; each form of the ticket page is a function under
`_ticket_form` or `_post_form` that calls its service and says what it did). HTMX requests get
a partial of the same template, so the two never drift; boosted navigation (`HX-Boosted`) gets
the full page like any browser."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET, require_POST

from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels import selectors as channel_selectors
from mentiondesk.channels.models import Post
from mentiondesk.core.errors import DomainError, NotFound
from mentiondesk.desk.context_processors import nav_views_for
from mentiondesk.desk.forms_flow import (
    Act,
    Data,
    Done,
    page_render,
    page_submit,
    wants_partial,
)
from mentiondesk.desk.tickets import pages
from mentiondesk.desk.tickets.forms import (
    BulkForm,
    DeletePostForm,
    DirectMessageForm,
    EscalateForm,
    HandBackForm,
    IntentForm,
    LikeForm,
    NoteForm,
    PlayForm,
    PresenceForm,
    QueueForm,
    ReassignForm,
    ReplyForm,
    SavedSearchForm,
    SavedSearchRenameForm,
    SearchForm,
    SpamReportForm,
    StatusForm,
    SuggestRetweetForm,
    TakeForm,
    escalation_label,
)
from mentiondesk.desk.tickets.rows import queue_rows_read
from mentiondesk.incidents import selectors as surge_selectors
from mentiondesk.integrations.slack import escalations
from mentiondesk.replies import evidence as ticket_evidence
from mentiondesk.replies import selectors as reply_selectors
from mentiondesk.replies import services as reply_services
from mentiondesk.replies.services import bulk
from mentiondesk.tickets import saved_searches, selectors, services
from mentiondesk.tickets import search as ticket_search
from mentiondesk.tickets.constants import DEFAULT_VIEW, VIEWS
from mentiondesk.tickets.models import Ticket
from mentiondesk.tickets.selectors import QueueRow

# The queue shows the oldest tickets first; past this many, the counts say how many more.
QUEUE_ROWS = 50
# Strict play handed back the ticket already on screen.
HELD_MESSAGE = (
    "Finish or hand back this ticket first: reply, solve it, or hand it back with a reason. "
    "Play never skips a ticket."
)
# The spam report's thank-you draft waits here for the composer of the next page view.
DRAFT_SESSION_KEY = "mentiondesk:draft:{ticket_id}"
# The view the agent last played: the ticket page's Next plays it again, and a hand-back
# returns to it (an agent working "All networks" stays there after a Mastodon ticket).
PLAY_VIEW_SESSION_KEY = "mentiondesk:play_view"


def _user(request: HttpRequest) -> User:
    # Every view here is login_required: the user is an authenticated accounts.User.
    return cast(User, request.user)


def _queue_url(view: str) -> str:
    return f"{reverse('tickets:queue')}?{urlencode({'view': view})}"


@require_GET
@login_required
def queue(request: HttpRequest) -> HttpResponse:
    form = QueueForm(request.GET)
    nav_views = nav_views_for(viewer=_user(request))
    # Without ?view=, the Twitter view, or the first playable one the sidebar shows (a team
    # on Mastodon alone lands on its Mastodon view).
    view = form.view_slug(default=selectors.view_landing(shown=[v.slug for v in nav_views]))
    labels = form.labels()
    sort = "due" if request.GET.get("sort") == "due" else "created"
    tickets = queue_rows_read(
        view=view, labels=labels, sort=sort, viewer=_user(request), limit=QUEUE_ROWS
    )
    context = {
        "current_view": VIEWS[view],
        "nav_views": nav_views,
        "tickets": tickets,
        "sort": sort,
        "queue_rows": QUEUE_ROWS,
        "filter_form": form,
        "filtered": labels.active,
        "rows_query": form.query_string(),
        "surges": surge_selectors.surge_cards(viewer=_user(request)),
        "oob": wants_partial(request),
        **_bulk_context(request),
    }
    if not context["oob"] and VIEWS[view].playable:
        # The version the rows were drawn at: the page's pulse redraws them when it moves.
        context["pulse_version"] = selectors.ticket_view_version(view=view, viewer=_user(request))
    template = "tickets/queue.html#ticket-rows" if context["oob"] else "tickets/queue.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
@login_required
def search(request: HttpRequest) -> HttpResponse:
    """Ticket search in the seed's syntax, results as queue rows; a query the parser refuses
    is shown on the page with a 400."""
    form = SearchForm(request.GET)
    tickets: list[QueueRow] | None = None
    if form.is_valid() and form.cleaned_data["q"]:
        try:
            query = ticket_search.search_parse(text=form.cleaned_data["q"])
            tickets = ticket_search.ticket_search_rows(query=query, limit=QUEUE_ROWS)
        except DomainError as exc:
            form.add_error("q", exc.message)
    context: dict[str, Any] = {
        "form": form,
        "tickets": tickets,
        "queue_rows": QUEUE_ROWS,
        **_saved_search_context(request, form),
        **_bulk_context(request),
    }
    return render(request, "tickets/search.html", context, status=400 if form.errors else 200)


def _bulk_context(request: HttpRequest) -> dict[str, Any]:
    """The bulk bar and the rows' checkboxes, for leads and admins only (the service refuses
    everyone else anyway)."""
    if not bulk.bulk_allowed(user=_user(request)):
        return {"can_bulk": False}
    return {
        "can_bulk": True,
        "bulk_form": BulkForm(initial={"next": request.get_full_path()}),
    }


def _saved_search_context(request: HttpRequest, form: SearchForm) -> dict[str, Any]:
    """The saved search the page shows (`?saved=`, when the viewer sees it), and the form to
    save the search on the page under a name."""
    user = _user(request)
    saved = None
    saved_id = request.GET.get("saved", "")
    if saved_id.isdigit():
        try:
            saved = saved_searches.saved_search_get(saved_search_id=int(saved_id), viewer=user)
        except NotFound:
            saved = None
    q = form.cleaned_data.get("q", "") if form.is_valid() else ""
    return {
        "saved": saved,
        "saved_may_change": saved is not None
        and saved_searches.saved_search_may_change(saved_search=saved, user=user),
        "rename_form": SavedSearchRenameForm(initial={"name": saved.name}) if saved else None,
        "save_form": SavedSearchForm(initial={"q": q}) if q and not form.errors else None,
        "can_share": saved_searches.saved_search_may_share(user=user),
    }


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
    if request.session.get(PLAY_VIEW_SESSION_KEY) != view:  # a write only when it changes
        request.session[PLAY_VIEW_SESSION_KEY] = view
    if ticket is None:
        messages.info(request, "Queue is clear: nobody is waiting for an answer. Nice work.")
        return redirect(_queue_url(view))
    if form.is_valid() and form.cleaned_data["current"] == ticket.pk:
        messages.warning(request, HELD_MESSAGE)
    return redirect("tickets:detail", ticket_id=ticket.pk)


@require_GET
@login_required
def detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    draft = request.session.pop(DRAFT_SESSION_KEY.format(ticket_id=ticket_id), "")
    if draft:
        return _detail(request, ticket_id, reply_form=ReplyForm(initial={"text": draft}))
    return _detail(request, ticket_id)


@require_GET
@login_required
def activity(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The conversation and unsent replies, polled while a reply is on its way; the header
    and the events timeline ride along as out-of-band swaps."""
    response = _detail(request, ticket_id, template="tickets/detail.html#ticket-activity")
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
@login_required
def evidence(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The evidence card (sources, similar solved tickets, drafted replies), asked of the
    sources now. The page draws the evidence kept since ingest at once; it asks for this
    when there is none (hx-trigger "load") and on "Refresh": the look-ups call the network,
    so the ticket page itself never waits on them. Not in a transaction."""
    ticket = _ticket(ticket_id)
    found = ticket_evidence.ticket_evidence_get(ticket=ticket)
    return render(
        request, "tickets/detail.html#evidence-panel", {"ticket": ticket, "evidence": found}
    )


def _ticket(ticket_id: int) -> Ticket:
    """The ticket a write or a card acts on, without its conversation (read when used)."""
    try:
        return selectors.ticket_get(ticket_id=ticket_id, with_conversation=False)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _post(ticket_id: int, remote_id: str) -> Post:
    try:
        return selectors.ticket_post_get(ticket=_ticket(ticket_id), remote_id=remote_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


# What a form of the ticket page acts on: the ticket, or one post of its conversation.
Subject = TypeVar("Subject", Ticket, Post)
PageView = Callable[..., HttpResponse]


def _page_form(
    form_class: type[django_forms.Form],
    form_key: str,
    *,
    find: Callable[[int, str], Subject],
    may_vanish: bool,
) -> Callable[[Callable[[HttpRequest, Subject, Data], Done]], PageView]:
    """A form of the ticket page, posted to /tickets/<id>/... (/posts/<remote_id>/... for a
    post's): the decorated function gets what `find` finds and the form's valid data, calls
    one service and says what it did (`Done`); the ticket page shows the form again with what
    was wrong. The form is `form_key` in the page's context. `may_vanish`: see
    `refusal_show`."""

    def decorate(act: Callable[[HttpRequest, Subject, Data], Done]) -> PageView:
        @functools.wraps(act)
        def view(request: HttpRequest, ticket_id: int, remote_id: str = "") -> HttpResponse:
            subject = find(ticket_id, remote_id)
            return _ticket_submit(
                request,
                ticket_id,
                form_class(request.POST),
                lambda data: act(request, subject, data),
                form_key=form_key,
                extra={"post_target": remote_id} if remote_id else None,
                may_vanish=may_vanish,
            )

        return view

    return decorate


def _ticket_form(
    form_class: type[django_forms.Form], form_key: str, *, may_vanish: bool = False
) -> Callable[[Callable[[HttpRequest, Ticket, Data], Done]], PageView]:
    """A form about the ticket (see `_page_form`)."""
    return _page_form(
        form_class, form_key, find=lambda ticket_id, _: _ticket(ticket_id), may_vanish=may_vanish
    )


def _post_form(
    form_class: type[django_forms.Form], form_key: str
) -> Callable[[Callable[[HttpRequest, Post, Data], Done]], PageView]:
    """A form of one post (like, delete, suggest a retweet; see `_page_form`). It may be gone
    from the page drawn again (the post already liked or deleted): a refusal not about its
    fields is a page message."""
    return _page_form(form_class, form_key, find=_post, may_vanish=True)


def _ticket_submit(
    request: HttpRequest,
    ticket_id: int,
    form: django_forms.Form | None,
    act: Act,
    *,
    form_key: str = "",
    extra: dict[str, Any] | None = None,
    may_vanish: bool = False,
) -> HttpResponse:
    """`page_submit` on the ticket page; back to the ticket page when done."""
    # `form_key` is a *_form key: the form cannot land on template or extra.
    bound: dict[str, Any] = {form_key: form} if form is not None else {}

    def page(status: int, more: dict[str, Any] | None = None) -> HttpResponse:
        extras = {**(extra or {}), **(more or {})}
        return _detail(request, ticket_id, status=status, extra=extras, **bound)

    def collision(exc: DomainError) -> HttpResponse | None:
        # The page re-renders with the conversation as it is now (and a new seen_post_id),
        # the typed text kept, and what changed above the composer; when the post is already
        # answered, with the button that sends it anyway.
        if not isinstance(exc, reply_services.Collision):
            return None
        return page(
            exc.status_code, {"collision": exc.changes, "collision_answered": _answered(exc)}
        )

    return page_submit(
        request,
        form,
        act,
        to=reverse("tickets:detail", args=[ticket_id]),
        page=page,
        refused=collision,
        may_vanish=may_vanish,
    )


@require_POST
@login_required
@_ticket_form(ReplyForm, "reply_form")
def reply(request: HttpRequest, ticket: Ticket, data: Data) -> Done:
    created = reply_services.reply_create(
        ticket=ticket,
        author=_user(request),
        text=data["text"],
        idempotency_key=data["idempotency_key"],
        status_after=data["status_after"],
        seen_post_id=data["seen_post_id"] or None,
        another_reply=data["another_reply"],
        reason=data["reason"],
    )
    # A reply made for a ticket always has it (only status updates have none).
    ticket_status = created.ticket.status  # type: ignore[union-attr]
    solved = " and the ticket is solved" if ticket_status == Ticket.Status.SOLVED else ""
    return Done(f"Reply queued from @{created.handle.username}{solved}.")


@require_POST
@login_required
def reply_retry(request: HttpRequest, ticket_id: int, reply_id: int) -> HttpResponse:
    """A parked reply: send it again (proven never sent) or have its network checked again."""
    ticket = _ticket(ticket_id)
    reply = reply_selectors.reply_get(reply_id=reply_id)
    if reply.ticket_id != ticket.pk:
        raise Http404(f"reply {reply_id} is not on ticket #{ticket_id}")

    def act(data: Data) -> Done:
        if request.POST.get("action") == "recheck":
            reply_services.reply_recheck(reply=reply, by=_user(request))
            return Done(
                f"Checking @{reply.handle.username}'s posts on {ticket.get_network_display()} "
                "for the reply."
            )
        reply_services.reply_retry(reply=reply, by=_user(request))
        return Done(f"Reply queued again from @{reply.handle.username}.")

    return _ticket_submit(request, ticket_id, None, act)


def _answered(collision: reply_services.Collision) -> str:
    """ "only" when the post being answered already is all that stopped the send, "also" when
    the conversation moved on too, "" when it is not answered: what the composer offers."""
    if not collision.answered:
        return ""
    return "only" if collision.code == "already_answered" else "also"


# Only the reason is asked next to the button; the form is gone once someone has the ticket.
@require_POST
@login_required
@_ticket_form(TakeForm, "take_form", may_vanish=True)
def assign_to_me(request: HttpRequest, ticket: Ticket, data: Data) -> Done:
    me = _user(request)
    services.ticket_assign(ticket=ticket, assignee=me, by=me, reason=data["reason"])
    return Done(f"Ticket #{ticket.pk} is yours.")


@require_POST
@login_required
@_ticket_form(ReassignForm, "reassign_form")
def reassign(request: HttpRequest, ticket: Ticket, data: Data) -> Done:
    assignee = data["assignee"]
    services.ticket_assign(ticket=ticket, assignee=assignee, by=_user(request))
    who = assignee.username if assignee else "nobody"
    return Done(f"Ticket #{ticket.pk} assigned to {who}.")


@require_POST
@login_required
@_ticket_form(StatusForm, "status_form")
def status(request: HttpRequest, ticket: Ticket, data: Data) -> Done:
    changed = ticket_actions.ticket_status_set(
        ticket=ticket, status=data["status"], by=_user(request)
    )
    return Done(f"Ticket #{ticket.pk} is {changed.get_status_display().lower()}.")


@require_POST
@login_required
@_ticket_form(NoteForm, "note_form")
def note(request: HttpRequest, ticket: Ticket, data: Data) -> Done:
    services.ticket_note_add(ticket=ticket, by=_user(request), text=data["text"])
    return Done("Note added.")


@require_POST
@login_required
@_ticket_form(IntentForm, "intent_form")
def intent(request: HttpRequest, ticket: Ticket, data: Data) -> Done:
    changed = ticket_actions.ticket_intent_set(
        ticket=ticket, intent=data["intent"], by=_user(request)
    )
    return Done(f"Ticket #{ticket.pk} is about: {changed.get_intent_display().lower()}.")


@require_POST
@login_required
@_ticket_form(HandBackForm, "hand_back_form")
def hand_back(request: HttpRequest, ticket: Ticket, data: Data) -> Done:
    escalations.ticket_hand_back(
        ticket=ticket, by=_user(request), reason=data["reason"], category=data["category"]
    )
    return Done(
        f"Ticket #{ticket.pk} is back in the queue, at its place; "
        f"{escalation_label(data['category'])} experts were asked in Slack.",
        to=_queue_url(_play_view(request, ticket)),
    )


@require_POST
@login_required
@_ticket_form(EscalateForm, "escalate_form")
def escalate(request: HttpRequest, ticket: Ticket, data: Data) -> Done:
    event = escalations.ticket_escalate(
        ticket=ticket, by=_user(request), category=data["category"], note=data["note"]
    )
    return Done(f"Asked {event.data.get('channel', 'the experts')} in Slack.")


@require_POST
@login_required
@_ticket_form(SpamReportForm, "spam_form")
def report_spam(request: HttpRequest, ticket: Ticket, data: Data) -> Done:
    draft = escalations.ticket_report_spam(
        ticket=ticket, by=_user(request), reported_url=data["url"]
    )
    request.session[DRAFT_SESSION_KEY.format(ticket_id=ticket.pk)] = draft
    return Done("Spam reported in Slack. A thank-you reply is in the composer: edit and send.")


@require_POST
@login_required
@_post_form(LikeForm, "like_form")
def like(request: HttpRequest, post: Post, data: Data) -> Done:
    reply_services.post_like(post=post, by=_user(request), reason=data["reason"])
    return Done(f"Liking @{post.author_username}'s post.")


@require_POST
@login_required
@_post_form(SuggestRetweetForm, "retweet_form")
def suggest_retweet(request: HttpRequest, post: Post, data: Data) -> Done:
    event = escalations.post_suggest_retweet(post=post, by=_user(request), note=data["note"])
    where = event.data.get("channel", "the social team") if event else "the social team"
    return Done(f"Suggested to {where} for the social team to review.")


@require_POST
@login_required
@_post_form(DeletePostForm, "delete_form")
def delete_post(request: HttpRequest, post: Post, data: Data) -> Done:
    reply_services.post_delete(post=post, by=_user(request), reason=data["reason"])
    return Done(f"Deleting @{post.author_username}'s post on {post.network_label}.")


@require_POST
@login_required
@_ticket_form(DirectMessageForm, "dm_form")
def direct_message(request: HttpRequest, ticket: Ticket, data: Data) -> Done:
    dm = reply_services.dm_create(
        ticket=ticket, by=_user(request), text=data["text"], purpose=data["purpose"]
    )
    return Done(f"Direct message queued from @{dm.handle.username}.")


@require_POST
@login_required
def presence(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The ticket page's heartbeat (every few seconds, and when the agent starts typing):
    answers with who else has the ticket open."""
    ticket = _ticket(ticket_id)
    form = PresenceForm(request.POST)
    is_typing = bool(form.is_valid() and form.cleaned_data["is_typing"])
    others = services.presence_touch(ticket=ticket, user=_user(request), is_typing=is_typing)
    return render(request, "tickets/detail.html#presence-list", {"others": others})


def _play_view(request: HttpRequest, ticket: Ticket) -> str:
    """The view the agent last played, else the ticket's network's own view."""
    view = request.session.get(PLAY_VIEW_SESSION_KEY)
    if isinstance(view, str) and view in VIEWS and VIEWS[view].playable:
        return view
    return selectors.view_of_network(network=ticket.network)


def _detail(
    request: HttpRequest,
    ticket_id: int,
    *,
    status: int = 200,
    template: str = "tickets/detail.html",
    extra: dict[str, Any] | None = None,
    **bound: django_forms.Form,
) -> HttpResponse:
    try:
        page = pages.ticket_get_for_page(ticket_id=ticket_id, viewer=_user(request))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context: dict[str, Any] = {
        "page": page,
        "ticket": page.ticket,
        # Lazy: read by the full page and by the conversation's refresh (out of band, so the
        # card says "Last answered" once a reply is sent), not by the other partials.
        "requester_card": SimpleLazyObject(lambda: pages.requester_card_get(ticket=page.ticket)),
        "reply_form": ReplyForm(),
        "note_form": NoteForm(),
        "status_form": StatusForm(initial={"status": page.ticket.status}),
        "reassign_form": ReassignForm(initial={"assignee": page.ticket.assignee_id}),
        "intent_form": IntentForm(initial={"intent": page.ticket.intent}),
        "hand_back_form": HandBackForm(),
        "escalate_form": EscalateForm(),
        "spam_form": SpamReportForm(),
        "dm_form": DirectMessageForm(),
        "take_form": TakeForm(),
        # What taking the ticket (Assign to me, or a reply) asks of the viewer, outside Play.
        "take": None
        if wants_partial(request)
        else services.ticket_take_rule(ticket=page.ticket, user=_user(request)),
        "play_view": _play_view(request, page.ticket),
        "oob": wants_partial(request),
        # Fetched after ingest: drawn at once; the lazy card only when it never was.
        "evidence": None
        if wants_partial(request)
        else ticket_evidence.ticket_evidence_stored(ticket=page.ticket),
        **(extra or {}),
        **bound,
    }
    # The composer counts as the ticket's network does, against its limit.
    context["reply_form"].for_network(
        page.ticket.network, limit=channel_selectors.handle_text_limit(handle=page.ticket.handle)
    )
    return page_render(
        request, template, context, status=status, url=reverse("tickets:detail", args=[ticket_id])
    )
