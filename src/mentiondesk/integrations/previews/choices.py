from __future__ import annotations

from django.db import models


class PreviewStatus(models.TextChoices):
    OK = "ok", "OK"
    # Not fetched on purpose: not http(s), credentials in the URL, or a non-public address.
    REFUSED = "refused", "Refused"
    # Tried and did not get a usable page: timeout, HTTP error, not HTML, too many redirects…
    FAILED = "failed", "Failed"
