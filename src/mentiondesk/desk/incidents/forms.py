from __future__ import annotations

from django import forms


class SurgeReplyForm(forms.Form):
    """The one-click reply; the link is only asked for when no incident is linked."""

    incident_url = forms.URLField(required=False, max_length=500, assume_scheme="https")
