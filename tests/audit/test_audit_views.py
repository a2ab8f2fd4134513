"""The /audit/ page and its downloads: leads and admins only."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from mentiondesk.accounts.models import User
from mentiondesk.desk.audit import views as audit_views
from tests.audit.conftest import Trail

pytestmark = pytest.mark.django_db

PAGE = reverse("audit:events")
EXPORT = reverse("audit:export")


def html(response: Any) -> str:
    return response.content.decode()


def event_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-event-id="(\d+)"', page)]


def logged_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def test_the_page_and_downloads_require_login(client: Client) -> None:
    for url in (PAGE, EXPORT):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("url", [PAGE, EXPORT, f"{EXPORT}?format=json"])
def test_advocates_are_refused_with_a_403_page(
    client: Client, trail: Trail, advocate: User, url: str
) -> None:
    response = logged_in(client, advocate).get(url)
    assert response.status_code == 403
    page = html(response)
    assert "Only leads and admins can read the audit log." in page
    assert event_ids(page) == [] and "data-export" not in page


def test_leads_see_every_event_newest_first_with_export_links(
    client: Client, trail: Trail, lead: User, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    client = logged_in(client, lead)
    with django_assert_max_num_queries(8):
        response = client.get(PAGE)
    assert response.status_code == 200
    page = html(response)
    assert event_ids(page) == [e.pk for e in reversed(trail.events())]
    assert 'data-export="csv"' in page and 'data-export="json"' in page
    assert 'hx-boost="false"' in page
    assert reverse("tickets:detail", args=[trail.maya.pk]) in page
    assert "<script>" not in page and "style=" not in page


def test_the_page_opens_on_the_newest_events_and_pages_to_older_ones(
    client: Client, trail: Trail, lead: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_views, "PAGE_ROWS", 2)
    newest_first = [e.pk for e in reversed(trail.events())]
    client = logged_in(client, lead)
    page = html(client.get(PAGE))
    assert event_ids(page) == newest_first[:2]
    assert 'rel="next">Older</a>' in page and 'rel="prev"' not in page
    page = html(client.get(PAGE, {"page": 2}))
    assert event_ids(page) == newest_first[2:4]
    assert 'rel="prev">Newer</a>' in page
    # The download stays a chronological record.
    response = client.get(EXPORT, {"format": "json"})
    assert isinstance(response, StreamingHttpResponse)
    items = json.loads(b"".join(response.streaming_content))  # type: ignore[arg-type]
    assert [i["id"] for i in items] == newest_first[::-1]


def test_admins_filter_by_user_kind_ticket_and_days(
    client: Client, trail: Trail, admin: User
) -> None:
    client = logged_in(client, admin)
    events = trail.events()[::-1]  # as the page lists them: newest first

    def shown(**query: Any) -> list[int]:
        response = client.get(PAGE, query)
        assert response.status_code == 200, html(response)
        return event_ids(html(response))

    assert shown(user="lee") == [e.pk for e in events if e.actor and e.actor.username == "lee"]
    assert shown(kind="note", ticket=trail.maya.pk) == [
        e.pk for e in events if e.kind == "note" and e.ticket_id == trail.maya.pk
    ]
    first, last = (e.created_at.date().isoformat() for e in (events[-1], events[0]))
    assert shown(since=first, until=last) == [e.pk for e in events]
    assert shown(since="2000-01-01", until="2000-01-31") == []
    # The export links carry the filters.
    page = html(client.get(PAGE, {"user": "lee"}))
    assert f"{EXPORT}?user=lee&amp;format=csv" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"user": "nobody"}, "no user named"),
        ({"ticket": "abc"}, "Enter a whole number"),
        ({"kind": "deleted"}, "Select a valid choice"),
        ({"since": "2026-11-21", "until": "2026-11-20"}, "ends before it starts"),
        ({"since": "21/11/2026"}, "Enter a date as YYYY-MM-DD"),
    ],
)
def test_bad_filters_are_shown_on_the_page_with_a_400(
    client: Client, trail: Trail, lead: User, query: dict[str, str], message: str
) -> None:
    response = logged_in(client, lead).get(PAGE, query)
    assert response.status_code == 400
    page = html(response)
    assert message in page and "flash-error" in page
    assert event_ids(page) == [] and "data-export" not in page
    assert logged_in(client, lead).get(EXPORT, query).status_code == 400


def test_downloads_from_the_page(client: Client, trail: Trail, lead: User) -> None:
    client = logged_in(client, lead)
    response = client.get(EXPORT, {"format": "csv", "user": "ana"})
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Disposition"].endswith('.csv"')
    text = b"".join(response.streaming_content).decode()  # type: ignore[arg-type]
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows and {r["actor"] for r in rows} == {"ana"}

    response = client.get(EXPORT, {"format": "json"})
    assert isinstance(response, StreamingHttpResponse)
    items = json.loads(b"".join(response.streaming_content))  # type: ignore[arg-type]
    assert [i["id"] for i in items] == [e.pk for e in trail.events()]

    assert client.get(EXPORT, {"format": "xml"}).status_code == 400
