"""The cost page's filters. They parse input; the selectors check it against the data."""

from __future__ import annotations

from django import forms

from mentiondesk.channels.choices import UsageKind

DATE_ERRORS = {"invalid": "Enter a date as YYYY-MM-DD."}


class CostFilterForm(forms.Form):
    """`?date_from=&date_to=&handle=&kind=`: whole UTC days, both inclusive."""

    date_from = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages=DATE_ERRORS,
        widget=forms.TextInput(attrs={"placeholder": "From YYYY-MM-DD"}),
    )
    date_to = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages=DATE_ERRORS,
        widget=forms.TextInput(attrs={"placeholder": "To YYYY-MM-DD"}),
    )
    handle = forms.CharField(
        required=False, max_length=51, widget=forms.TextInput(attrs={"placeholder": "@handle"})
    )
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *UsageKind.choices])
