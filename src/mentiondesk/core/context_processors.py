"""Template context shared by every screen of the desk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from mentiondesk.tickets import selectors as ticket_selectors
from mentiondesk.tickets.constants import VIEWS


@dataclass(frozen=True)
class NavView:
    slug: str
    name: str
    count: int
    playable: bool


def desk(request: HttpRequest) -> dict[str, Any]:
    """`nav_views`: the views with their ticket counts, for the sidebar. Lazy, so a page that
    does not show the sidebar (login) runs no query; one aggregate query otherwise."""
    if not request.user.is_authenticated:
        return {}

    def nav_views() -> list[NavView]:
        counts = ticket_selectors.ticket_count_by_view()
        return [NavView(slug, v.name, counts[slug], v.playable) for slug, v in VIEWS.items()]

    return {"nav_views": SimpleLazyObject(nav_views)}
