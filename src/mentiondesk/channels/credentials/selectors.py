"""Reading what is stored about the handles' credentials, never the secrets themselves."""

from __future__ import annotations

from django.db.models import QuerySet

from ..models import Handle


def handle_list_with_credentials() -> QuerySet[Handle]:
    """Every handle with its stored credential's metadata (None when it has none), for
    `credentials list`: no key is needed and nothing secret is read."""
    return Handle.objects.select_related("credential").defer("credential__secret")
