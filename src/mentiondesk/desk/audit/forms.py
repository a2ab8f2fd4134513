"""The audit page's filters. They parse input; the selector checks it against the data."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms

from mentiondesk.tickets.models import TicketEvent

DATE_HELP = "YYYY-MM-DD, UTC"
DATE_ERRORS = {"invalid": "Enter a date as YYYY-MM-DD."}


class AuditFilterForm(forms.Form):
    """`?user=&ticket=&kind=&since=&until=`: dates are whole UTC days, both inclusive."""

    user = forms.CharField(
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"placeholder": "User"}),
    )
    ticket = forms.IntegerField(
        required=False,
        min_value=1,
        widget=forms.TextInput(attrs={"placeholder": "Ticket #", "inputmode": "numeric"}),
    )
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *TicketEvent.Kind.choices])
    since = forms.DateField(
        required=False,
        label="From",
        input_formats=["%Y-%m-%d"],
        error_messages=DATE_ERRORS,
        widget=forms.TextInput(attrs={"placeholder": "From date", "title": DATE_HELP}),
    )
    until = forms.DateField(
        required=False,
        label="To",
        input_formats=["%Y-%m-%d"],
        error_messages=DATE_ERRORS,
        widget=forms.TextInput(attrs={"placeholder": "To date", "title": DATE_HELP}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "The range ends before it starts.")
        return data

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for `audit_events`: the days as a half-open UTC range."""
        data = self.cleaned_data
        since, until = data.get("since"), data.get("until")
        return {
            "ticket_id": data.get("ticket"),
            "actor": data.get("user") or None,
            "kind": data.get("kind") or None,
            "since": datetime.combine(since, time.min, UTC) if since else None,
            # The whole last day: up to the next midnight (none past the calendar's last day).
            "until": datetime.combine(until + timedelta(days=1), time.min, UTC)
            if until and until < date.max
            else None,
        }
