"""Forms of the ticket screens. They parse and validate input; the services decide."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms

from mentiondesk.replies.services import X_MAX_CHARS
from mentiondesk.tickets import selectors
from mentiondesk.tickets.constants import DEFAULT_VIEW, VIEWS
from mentiondesk.tickets.models import Ticket


def _new_key() -> str:
    return str(uuid.uuid4())


class QueueForm(forms.Form):
    """`?view=` of the queue page; anything unknown falls back to the default view."""

    view = forms.ChoiceField(choices=[(slug, v.name) for slug, v in VIEWS.items()], required=False)

    def view_slug(self) -> str:
        if self.is_valid() and self.cleaned_data["view"]:
            return str(self.cleaned_data["view"])
        return DEFAULT_VIEW


class PlayForm(forms.Form):
    view = forms.ChoiceField(choices=[(slug, v.name) for slug, v in VIEWS.items()], required=False)


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
    status_after = forms.ChoiceField(
        choices=[(Ticket.Status.PENDING, "Send"), (Ticket.Status.SOLVED, "Send and solve")],
        required=False,
    )

    def clean_status_after(self) -> str:
        return str(self.cleaned_data.get("status_after") or Ticket.Status.PENDING)


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
            forms.ModelChoiceField, self.fields["assignee"]
        ).queryset = selectors.ticket_list_assignees()
