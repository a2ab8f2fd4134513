"""Template context shared by every screen of the desk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from mentiondesk.accounts.models import User
from mentiondesk.audit.constants import AUDIT_ROLES
from mentiondesk.channels import selectors as channel_selectors
from mentiondesk.desk.demo_world import demo_world_current
from mentiondesk.reports.constants import REPORT_ROLES
from mentiondesk.tickets import saved_searches
from mentiondesk.tickets import selectors as ticket_selectors


@dataclass(frozen=True)
class NavView:
    slug: str
    name: str
    count: int
    playable: bool
    # More tickets than the sidebar counts (VIEW_COUNT_CAP): shown as "1000+".
    more: bool = False


def nav_views_for(*, viewer: User) -> list[NavView]:
    """The sidebar's views for `viewer` (`view_list_for_nav`), counted up to the cap. One
    query; the queue page asks it itself (its landing view is the first one shown) and hands
    the result to the template, so it runs once."""
    cap = ticket_selectors.VIEW_COUNT_CAP
    views = ticket_selectors.view_list_for_nav(cap=cap, viewer=viewer)
    return [NavView(v.slug, v.name, min(n, cap), v.playable, n > cap) for v, n in views]


def desk(request: HttpRequest) -> dict[str, Any]:
    """`nav_views`: the views the sidebar shows (`view_list_for_nav`), with their counts;
    `nav_stream_handles`: the stream handles' names, for the stream link;
    `nav_saved_searches`: the viewer's and the team's saved searches with their live counts
    (one query each); `nav_can_audit` and `nav_can_report`: whether the audit log and reports
    links show; `nav_demo`: whether the demo's pages are linked. Lazy, so a page that does not
    show the sidebar (login) runs no query; one query for each otherwise."""
    if not request.user.is_authenticated:
        return {}

    def nav_views() -> list[NavView]:
        return nav_views_for(viewer=cast(User, request.user))

    def nav_stream_handles() -> list[str]:
        return list(
            channel_selectors.stream_handles()
            .order_by("username")
            .values_list("username", flat=True)
        )

    def nav_saved_searches() -> list[saved_searches.SavedSearchCount]:
        return saved_searches.saved_search_counts(viewer=cast(User, request.user))

    return {
        "nav_views": SimpleLazyObject(nav_views),
        "nav_saved_searches": SimpleLazyObject(nav_saved_searches),
        "nav_stream_handles": SimpleLazyObject(nav_stream_handles),
        "nav_can_audit": getattr(request.user, "role", None) in AUDIT_ROLES,
        "nav_can_report": getattr(request.user, "role", None) in REPORT_ROLES,
        # The demo's own pages (its Slack stand-in), linked only in `mentiondesk demo`.
        "nav_demo": demo_world_current() is not None,
    }
