"""The queue's rows (tickets/queue.html#ticket-table, on the queue page, its 5 s refresh and
the search page), read as columns and written in Python.

Drawn by the template engine from model instances, 50 rows of some forty variables, filters,
`{% url %}` and `{% widthratio %}` each were ~10 ms of the queue page's ~23 ms CPU, and
building the instances (ticket, handle, assignee, SLA state) and the query ~8 ms more, on
every agent's page and 5 s refresh (bench/queue_page.py; bench/RESULTS.md, "Queue page
CPU"). Here the rows are tickets.selectors.QueueRow (tuples from one query, itself built once
per process for each view, filter and sort) and each row is one string with the template's
markup, byte for byte, and its rules taken from where the template took them: the SLA badge
from sla.selectors.sla_badge and the `sla_duration` filter, whether an intent is only a
suggestion from tickets.gate, times from core's `utc` filters and Django's `timesince`,
labels from the model's choices. Every value from the database goes through `escape`, as
autoescaping did; what is not escaped is our own constants, numbers and times, which have
nothing to escape. One `now` for the whole table (the template asked the clock per row)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from html import escape

from django.db.models import Field, QuerySet
from django.template.defaultfilters import timesince_filter
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from mentiondesk.accounts.models import User
from mentiondesk.core.templatetags.utc import utc_iso, utc_minute, utc_short
from mentiondesk.sla import selectors as sla_selectors
from mentiondesk.sla.selectors import SlaBadge
from mentiondesk.sla.templatetags.sla import sla_duration
from mentiondesk.tickets import selectors
from mentiondesk.tickets.constants import VIEWS
from mentiondesk.tickets.gate import triage_act_above, triage_confidence_acts
from mentiondesk.tickets.models import Ticket
from mentiondesk.tickets.selectors import QueueRow, TriageFilter

SUGGESTED_TITLE = (
    "Triage's suggestion: below the confidence it acts on, so it changes nothing until someone "
    "confirms it"
)


def queue_rows_read(
    *, view: str, labels: TriageFilter, sort: str, viewer: User, limit: int
) -> list[QueueRow]:
    """The first `limit` rows of `view` for `viewer`, narrowed by triage `labels`, oldest
    first or, with `sort` "due", nearest SLA deadline first. One query."""
    # Only a `mine` view's query names its viewer: every other one is shared by the team. By
    # id: `request.user` is a lazy object that holds its request, which a cache key would
    # keep alive.
    who = viewer.pk if VIEWS[view].mine else None
    return selectors.queue_rows(_queue_rows_query(view, labels, sort == "due", who, limit).all())


@functools.lru_cache(maxsize=256)
def _queue_rows_query(
    view: str, labels: TriageFilter, by_due: bool, viewer_id: int | None, limit: int
) -> QuerySet[Ticket, tuple[object, ...]]:
    """Built once per process and arguments (copied with .all() before each use, so its own
    results are never cached): building it through the ORM cost ~1.5 ms a page, more than
    running it. Nothing in it changes over time; the policy's threshold is applied when
    drawing."""
    viewer = User(pk=viewer_id) if viewer_id is not None else None
    tickets = selectors.ticket_list(view=view, labels=labels, viewer=viewer)
    if by_due:
        tickets = sla_selectors.tickets_by_due(tickets)
    return selectors.ticket_queue_rows(tickets)[:limit]


def queue_rows_html(rows: Iterable[QueueRow], *, can_bulk: bool) -> SafeString:
    """The table body's rows, with the bulk checkbox when `can_bulk`."""
    now = timezone.now()
    act_above = triage_act_above()
    # The detail link reversed once: its id is the only 0 at the end of the path.
    before, after = escape(reverse("tickets:detail", args=[0])).rsplit("0", 1)
    # The model's choices, as get_FOO_display reads them (a value without a label shows as it is).
    network, status, intent = (_choices(name) for name in ("network", "status", "intent"))

    def row(r: QueueRow) -> str:
        suggested = bool(r.intent) and not triage_confidence_acts(
            confidence=r.intent_confidence, act_above=act_above
        )
        return _row(
            r,
            sla_selectors.sla_badge(r.sla, now=now),
            link=(before, after),
            can_bulk=can_bulk,
            now=now,
            labels=_labels(r, intent.get(r.intent, r.intent), suggested=suggested),
            network=network.get(r.network, r.network),
            status=status.get(r.status, r.status),
        )

    return mark_safe("".join(row(r) for r in rows))  # noqa: S308 - _row escapes every value


def _choices(name: str) -> dict[str, str]:
    field = Ticket._meta.get_field(name)
    assert isinstance(field, Field)  # noqa: S101 - a column of the ticket's own, not a relation
    return {value: str(label) for value, label in field.flatchoices}


def _row(
    r: QueueRow,
    b: SlaBadge,
    *,
    link: tuple[str, str],
    can_bulk: bool,
    now: datetime,
    labels: str,
    network: str,
    status: str,
) -> str:
    pk = r.pk
    state = b.state
    classes = "ticket-row"
    if not r.assignee_id:
        classes += " is-unassigned"
    if state in ("warning", "overdue"):
        classes += f" is-sla-{state}"
    pick = (
        f'<td class="col-pick"><input type="checkbox" name="ticket" value="{pk}" '
        f'form="bulk-form" data-bulk-pick aria-label="Select ticket #{pk}"></td>'
        if can_bulk
        else ""
    )
    requester = r.requester_username
    iso = utc_iso(r.created_at)
    assignee = (
        escape(r.assignee_username)
        if r.assignee_username is not None
        else '<span class="muted">Unassigned</span>'
    )
    age = escape(timesince_filter(r.created_at, now))
    return (
        f'\n      \n      <tr class="{classes}" data-ticket-id="{pk}">\n        {pick}\n'
        f'        <td class="col-requester">\n'
        f'          <span class="avatar" aria-hidden="true"><bdi>{escape(requester[:1].upper())}'
        f"</bdi></span>\n"
        f'          <span class="requester"><bdi>@{escape(requester)}</bdi></span>\n'
        f"        </td>\n"
        f'        <td class="col-subject">\n'
        f"          {labels}\n"
        f'          <a class="row-link" href="{link[0]}{pk}{link[1]}">'
        f"{escape(r.subject or '(no text)')}</a>\n"
        f"        </td>\n"
        f'        <td class="col-handle"><span class="handle">@{escape(r.handle_username)}</span> '
        f'<span class="tag tag-net tag-net-{escape(r.network)}" data-network="{escape(r.network)}">'
        f"{escape(network)}</span></td>\n"
        f'        <td class="col-status"><span class="badge badge-{escape(r.status)}">'
        f"{escape(status)}</span></td>\n"
        f'        <td class="col-assignee">{assignee}</td>\n'
        f'        <td class="col-sla">{_sla(b)}</td>\n'
        f'        <td class="col-age"><time class="age" datetime="{iso}" '
        f'title="Waiting since {utc_minute(r.created_at)} UTC">{age}</time></td>\n'
        f'        <td class="col-created"><time datetime="{iso}">{utc_short(r.created_at)}'
        f"</time></td>\n"
        f"      </tr>\n      \n      "
    )


def _labels(r: QueueRow, intent_label: str, *, suggested: bool) -> str:
    """Triage's labels: the intent (or, when `suggested`, triage's suggestion with its
    confidence), the sentiment and the product context of the first inbound post."""
    intent, sentiment, context = r.intent, r.triage_sentiment, r.triage_context
    if not (intent or sentiment):
        return ""
    out = (
        f'<span class="row-labels" data-labels="{escape(intent)} {escape(sentiment or "")} '
        f'{escape(context or "")}">'
    )
    if suggested:
        out += (
            f'<span class="tag tag-muted tag-suggested" data-suggested="{escape(intent)}" '
            f'title="{SUGGESTED_TITLE}">suggested: {escape(intent_label.lower())} '
            f"({_percent(r.intent_confidence)}%)</span>"
        )
    elif intent:
        amber = " tag-amber" if intent == "availability" else ""
        out += f'<span class="tag{amber}">{escape(intent_label)}</span>'
    if sentiment and sentiment != "neutral":
        out += f'<span class="tag tag-muted">{escape(sentiment)}</span>'
    if context and context != "unknown":
        product = "hosted" if context == "hosted" else "self-managed"
        out += f'<span class="tag tag-muted">{product}</span>'
    return out + "</span>"


def _percent(confidence: float | None) -> str:
    """As `{% widthratio confidence 1 100 %}`: rounded, or "" when there is none."""
    try:
        return str(round(float(confidence) * 100))  # type: ignore[arg-type]
    except (ValueError, TypeError, OverflowError):
        return ""


def _sla(b: SlaBadge) -> str:
    """The time left on the ticket's SLA clock, late, or paused; a dash without one."""
    label = escape(b.label)
    left = sla_duration(b.seconds_left)
    if b.state in ("ok", "warning"):
        return (
            f'<time class="sla-left sla-{b.state}" datetime="{utc_iso(b.due_at)}" '
            f'title="{label} due {utc_short(b.due_at)} UTC">{left}</time>'
        )
    if b.state == "overdue":
        return (
            f'<time class="sla-left sla-overdue" datetime="{utc_iso(b.due_at)}" '
            f'title="{label} was due {utc_short(b.due_at)} UTC">{left} late</time>'
        )
    if b.state == "paused":
        return (
            f'<span class="sla-left sla-paused" title="{label}: paused while pending">'
            f"{left} paused</span>"
        )
    return '<span class="muted">—</span>'
