"""GET /api/v1/audit/events and /api/v1/audit/export: leads and admins only."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.http import StreamingHttpResponse
from django.test import Client

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from tests.audit.conftest import FORMULA_NOTE, Trail

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/audit/events"
EXPORT = "/api/v1/audit/export"


def bearer(user: User) -> dict[str, str]:
    _, raw = account_services.token_create(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def body(response: Any) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()  # type: ignore[arg-type]


@pytest.mark.parametrize("url", [EVENTS, EXPORT, f"{EXPORT}?format=json"])
def test_advocates_get_the_json_403(client: Client, trail: Trail, advocate: User, url: str) -> None:
    response = client.get(url, **bearer(advocate))
    assert response.status_code == 403
    assert response.json() == {
        "detail": "only leads and admins can read the audit log",
        "code": "forbidden",
        "field": None,
    }


def test_without_a_token_it_is_401(client: Client) -> None:
    for url in (EVENTS, EXPORT):
        assert client.get(url).status_code == 401


def test_leads_list_events_oldest_first_with_paging(
    client: Client, trail: Trail, lead: User
) -> None:
    auth = bearer(lead)
    events = trail.events()
    page = client.get(f"{EVENTS}?limit=2", **auth)
    assert page.status_code == 200
    data = page.json()
    assert data["count"] == len(events)
    assert [i["id"] for i in data["items"]] == [e.pk for e in events[:2]]
    assert set(data["items"][0]) == {
        "id",
        "created_at",
        "ticket",
        "kind",
        "actor",
        "message",
        "data",
    }
    rest = client.get(f"{EVENTS}?limit=500&offset=2", **auth).json()
    assert [i["id"] for i in rest["items"]] == [e.pk for e in events[2:]]


def test_filters_select_per_ticket_user_kind_and_time(
    client: Client, trail: Trail, admin: User
) -> None:
    auth = bearer(admin)

    def ids(query: dict[str, Any]) -> list[int]:
        response = client.get(EVENTS, query, **auth)
        assert response.status_code == 200, response.json()
        return [i["id"] for i in response.json()["items"]]

    events = trail.events()
    assert ids({"ticket": trail.omar.pk}) == [e.pk for e in events if e.ticket_id == trail.omar.pk]
    assert ids({"user": "lee"}) == [e.pk for e in events if e.actor and e.actor.username == "lee"]
    assert ids({"user": "ana", "kind": "note"}) == [
        e.pk for e in events if e.kind == "note" and e.actor and e.actor.username == "ana"
    ]
    since = trail.middle.isoformat()
    assert ids({"since": since}) == [e.pk for e in events if e.created_at >= trail.middle]
    assert ids({"until": since}) == [e.pk for e in events if e.created_at < trail.middle]


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"user": "nobody"}, 400, "user"),
        ({"kind": "deleted"}, 400, "kind"),
        ({"ticket": 999_999}, 400, "ticket"),
        ({"ticket": 0}, 422, "ticket"),
        ({"since": "yesterday"}, 422, "since"),
        ({"limit": 0}, 422, "limit"),
    ],
)
def test_bad_filters_are_4xx_naming_the_field(
    client: Client, trail: Trail, lead: User, query: dict[str, Any], status: int, field: str
) -> None:
    response = client.get(EVENTS, query, **bearer(lead))
    assert response.status_code == status
    assert response.json()["field"] == field


def test_export_csv_is_a_streamed_download(client: Client, trail: Trail, lead: User) -> None:
    response = client.get(EXPORT, {"format": "csv", "ticket": trail.maya.pk}, **bearer(lead))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="mentiondesk-audit-')
    assert response["Content-Disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(body(response), newline="")))
    assert [int(r["id"]) for r in rows] == [
        e.pk for e in trail.events() if e.ticket_id == trail.maya.pk
    ]
    assert f"'{FORMULA_NOTE}" in [r["message"] for r in rows]


def test_export_json_is_one_array(client: Client, trail: Trail, admin: User) -> None:
    response = client.get(EXPORT, {"format": "json", "user": "ana"}, **bearer(admin))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].endswith('.json"')
    items = json.loads(body(response))
    assert items and {i["actor"] for i in items} == {"ana"}


def test_export_with_an_unknown_format_is_a_422(client: Client, lead: User) -> None:
    response = client.get(EXPORT, {"format": "xml"}, **bearer(lead))
    assert response.status_code == 422
    assert response.json()["field"] == "format"
