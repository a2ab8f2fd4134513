"""Forms of the ticket screens. They parse and validate input; the services decide."""

from __future__ import annotations

import uuid
from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.http import QueryDict

from mentiondesk.channels.connectors import network_facts
from mentiondesk.channels.models import REMOTE_ID_LENGTH
from mentiondesk.core.intents import INTENT_CHOICES, Intent
from mentiondesk.core.widgets import PlainSelect
from mentiondesk.policy.selectors import policy_current
from mentiondesk.replies.services import X_MAX_CHARS
from mentiondesk.tickets import selectors
from mentiondesk.tickets.constants import DEFAULT_VIEW, VIEWS
from mentiondesk.tickets.models import Ticket
from mentiondesk.triage.choices import Context, Sentiment


def _new_key() -> str:
    return str(uuid.uuid4())


class QueueForm(forms.Form):
    """`?view=` of the queue page, and its triage filters (`intent`, `sentiment`, `context`);
    anything unknown falls back to the default view, unfiltered."""

    view = forms.ChoiceField(choices=[(slug, v.name) for slug, v in VIEWS.items()], required=False)
    intent = forms.ChoiceField(
        choices=[("", "Any intent"), *INTENT_CHOICES], required=False, widget=PlainSelect
    )
    sentiment = forms.ChoiceField(
        choices=[("", "Any sentiment"), *Sentiment.choices], required=False, widget=PlainSelect
    )
    context = forms.ChoiceField(
        choices=[("", "Any product"), *Context.choices], required=False, widget=PlainSelect
    )

    def view_slug(self, *, default: str = DEFAULT_VIEW) -> str:
        if self.is_valid() and self.cleaned_data["view"]:
            return str(self.cleaned_data["view"])
        return default

    def labels(self) -> selectors.TriageFilter:
        data = self.cleaned_data if self.is_valid() else {}
        return selectors.TriageFilter(
            intent=data.get("intent") or None,
            sentiment=data.get("sentiment") or None,
            context=data.get("context") or None,
        )

    def query_string(self) -> str:
        """The view and the filters in force, for links and the rows' polling."""
        data = self.cleaned_data if self.is_valid() else {}
        return urlencode({"view": self.view_slug()} | {k: data[k] for k in FILTERS if data.get(k)})


FILTERS = ("intent", "sentiment", "context")


class SearchForm(forms.Form):
    """`?q=` of the search page, in the syntax of tickets.search (as GET /api/v1/search)."""

    q = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": 'Search: words, "a phrase", status:solved, requester:maya',
                "aria-label": "Search tickets",
            }
        ),
    )


class PlayForm(forms.Form):
    view = forms.ChoiceField(choices=[(slug, v.name) for slug, v in VIEWS.items()], required=False)
    # The ticket on screen when "Next ticket" was pressed: strict play returning that same
    # ticket means it still has to be finished or handed back, and the page says so.
    current = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ReplyForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "id": "reply-text",
                "placeholder": "Write a reply…",
                "data-max-chars": X_MAX_CHARS,
                "aria-describedby": "reply-count",
            }
        ),
    )
    # Generated when the form renders: resubmitting the same form (double click, back
    # button, a second tab) sends the same key, and reply_create returns the first reply.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100, initial=_new_key)
    text_limit = X_MAX_CHARS
    # The newest post the page showed when the composer opened (rendered from the page, not
    # from the submitted form): reply_create stops the send if the conversation moved on.
    seen_post_id = forms.CharField(required=False, max_length=REMOTE_ID_LENGTH)
    status_after = forms.ChoiceField(
        choices=[(Ticket.Status.PENDING, "Send"), (Ticket.Status.SOLVED, "Send and solve")],
        required=False,
    )
    # Shown only when the reply takes the ticket out of Play's order or over from someone;
    # `reply_create` says when it is required.
    reason = forms.CharField(
        required=False,
        max_length=2_000,
        widget=forms.TextInput(
            attrs={"id": "reply-reason", "placeholder": "Why this ticket, now?"}
        ),
    )

    # Set only by the "Send another reply" button shown when the post is already answered:
    # the one explicit confirmation of a deliberate second answer.
    another_reply = forms.BooleanField(required=False)

    def clean_status_after(self) -> str:
        return str(self.cleaned_data.get("status_after") or Ticket.Status.PENDING)

    def for_network(self, network: str, *, limit: int) -> ReplyForm:
        """Count the text as `network` does, against `limit` (the handle's:
        channels.selectors.handle_text_limit). app.js reads `data-length-rule`; the server
        checks again in reply_create."""
        facts = network_facts(network)
        self.text_limit = limit
        self.fields["text"].widget.attrs.update(
            {"data-max-chars": self.text_limit, "data-length-rule": facts.length_counter}
        )
        return self


class TakeForm(forms.Form):
    """ "Assign to me": the reason is required by `ticket_assign` when the take skips the
    ticket Play would give next, which says so."""

    reason = forms.CharField(
        required=False,
        max_length=2_000,
        widget=forms.TextInput(
            attrs={"id": "take-reason", "placeholder": "Why this ticket, out of order?"}
        ),
    )


class NoteForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(
            attrs={"rows": 3, "id": "note-text", "placeholder": "Only the team sees notes"}
        ),
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (Ticket.Status.OPEN, "Open"),
            (Ticket.Status.PENDING, "Pending"),
            (Ticket.Status.SOLVED, "Solved"),
        ]
    )


class ReassignForm(forms.Form):
    """A lead's reassign dropdown; empty means unassigned."""

    assignee = forms.ModelChoiceField(
        queryset=selectors.ticket_list_assignees().none(),
        required=False,
        empty_label="Unassigned",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read per form, not at import: users come and go while the server runs.
        cast(
            "forms.ModelChoiceField[Any]", self.fields["assignee"]
        ).queryset = selectors.ticket_list_assignees()


class IntentForm(forms.Form):
    """What the ticket is about; empty means not triaged."""

    intent = forms.ChoiceField(
        choices=Intent.choices,
        required=False,
        widget=forms.Select(attrs={"id": "intent-select"}),
    )


def _escalation_choices() -> list[tuple[str, str]]:
    return [("", "Choose experts…")] + [(e.category, e.label) for e in policy_current().escalations]


def escalation_label(category: str) -> str:
    """What the escalation form calls `category` ("" for one the policy does not name)."""
    return dict(_escalation_choices()).get(category, "")


class _EscalationForm(forms.Form):
    category = forms.ChoiceField(choices=(), error_messages={"required": "Choose who to ask."})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read per form, not at import: the policy can change while the server runs.
        cast(forms.ChoiceField, self.fields["category"]).choices = _escalation_choices()


class HandBackForm(_EscalationForm):
    """Give the ticket back: the reason is required by `ticket_hand_back`, which says so."""

    reason = forms.CharField(
        required=False,
        max_length=2_000,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "id": "hand-back-reason",
                "placeholder": "What is missing to answer it?",
            }
        ),
    )
    field_order = ("reason", "category")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].widget.attrs["id"] = "hand-back-category"


class EscalateForm(_EscalationForm):
    note = forms.CharField(
        required=False,
        max_length=2_000,
        widget=forms.Textarea(
            attrs={"rows": 2, "id": "escalate-note", "placeholder": "What do you need to know?"}
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].widget.attrs["id"] = "escalate-category"


class SpamReportForm(forms.Form):
    url = forms.CharField(
        required=False,
        max_length=2_000,
        widget=forms.TextInput(
            attrs={"id": "spam-url", "placeholder": "Link to the spam (optional)"}
        ),
    )


class LikeForm(forms.Form):
    """`post_like` wants a reason unless the ticket is praise; it says so when missing."""

    reason = forms.CharField(required=False, max_length=2_000)


class SuggestRetweetForm(forms.Form):
    note = forms.CharField(required=False, max_length=2_000)


class DeletePostForm(forms.Form):
    reason = forms.CharField(required=False, max_length=2_000)


class DirectMessageForm(forms.Form):
    """The purpose is left to `dm_create`: the policy decides whether it is required."""

    purpose = forms.CharField(
        required=False,
        max_length=300,
        widget=forms.TextInput(
            attrs={"id": "dm-purpose", "placeholder": "e.g. to collect a mailing address"}
        ),
    )
    text = forms.CharField(
        widget=forms.Textarea(
            attrs={"rows": 3, "id": "dm-text", "placeholder": "Write a direct message…"}
        ),
    )


class PresenceForm(forms.Form):
    # "1" while the agent types in the composer; empty otherwise.
    is_typing = forms.BooleanField(required=False)


class StatusUpdateForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "id": "status-text",
                "placeholder": "What is happening, and what are we doing about it?",
                "data-max-chars": X_MAX_CHARS,
                "aria-describedby": "status-count",
            }
        ),
    )
    incident_url = forms.CharField(
        required=False,
        max_length=2_000,
        widget=forms.TextInput(
            attrs={"id": "status-incident", "placeholder": "https://status.example.com/…"}
        ),
    )
    follow_up_open_reports = forms.BooleanField(
        required=False, widget=forms.CheckboxInput(attrs={"id": "status-follow-up"})
    )


class StreamReplyForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "data-max-chars": X_MAX_CHARS}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100, initial=_new_key)
    # The "Send another reply" confirmation shown when the post is already answered.
    another_reply = forms.BooleanField(required=False)


class BulkForm(forms.Form):
    """A lead's bulk action on the rows ticked in the queue or search results. The rows'
    checkboxes sit in the table (`form="bulk-form"`), the controls above it."""

    ticket = forms.Field(required=False)
    # No default: a stray Enter must not unassign a page of tickets.
    action = forms.ChoiceField(
        choices=[
            ("", "Choose an action…"),
            ("assign", "Assign to…"),
            ("solve", "Solve"),
            ("intent", "Set intent…"),
        ],
        widget=PlainSelect(attrs={"id": "bulk-action"}),
    )
    assignee = forms.ModelChoiceField(
        queryset=selectors.ticket_list_assignees().none(),
        required=False,
        empty_label="Nobody (unassign)",
        widget=forms.Select(attrs={"id": "bulk-assignee"}),
    )
    intent = forms.ChoiceField(
        choices=[("", "Choose an intent…"), *[(v, label) for v, label in Intent.choices if v]],
        required=False,
        widget=PlainSelect(attrs={"id": "bulk-intent"}),
    )
    # Where the lead was (the queue with its filters, or the search): back there after.
    next = forms.CharField(required=False, max_length=2_000, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read per form, not at import: users come and go while the server runs.
        cast(
            "forms.ModelChoiceField[Any]", self.fields["assignee"]
        ).queryset = selectors.ticket_list_assignees()

    def clean_ticket(self) -> list[int]:
        data = cast("QueryDict", self.data)
        # Any id is accepted here (bounded in count); the service says which are no ticket.
        return [int(v) for v in data.getlist("ticket")[:1_000] if v.isascii() and v.isdecimal()]


class SavedSearchForm(forms.Form):
    """Save the search on the page under a name (leads may share it with the team)."""

    name = forms.CharField(
        max_length=80,
        widget=forms.TextInput(attrs={"placeholder": "Name this search", "id": "saved-name"}),
    )
    q = forms.CharField(max_length=500, widget=forms.HiddenInput)
    is_shared = forms.BooleanField(required=False, label="Share with the team")


class SavedSearchRenameForm(forms.Form):
    name = forms.CharField(max_length=80, widget=forms.TextInput(attrs={"id": "saved-rename"}))
