"""GET /api/v1/reports/summary: the selector's figures as JSON, leads and admins only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from tests.reports.conftest import (
    EXPECTED_UNFILTERED,
    Timeline,
    oldest_seconds,
    without_clock,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/summary"
RANGE = {"from": "2026-10-24", "to": "2026-10-26"}


def bearer(user: User) -> dict[str, str]:
    _, raw = account_services.token_create(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_leads_get_the_hand_worked_report(client: Client, timeline: Timeline, lead: User) -> None:
    response = client.get(URL, RANGE, **bearer(lead))
    assert response.status_code == 200, response.json()
    data = response.json()
    assert without_clock(data) == EXPECTED_UNFILTERED
    assert data["backlog"]["oldest_seconds"] == oldest_seconds(data, timeline["t7"])


def test_the_figures_take_a_fixed_number_of_queries(
    client: Client,
    timeline: Timeline,
    lead: User,
    django_assert_max_num_queries: Any,
) -> None:
    auth = bearer(lead)
    query = {
        **RANGE,
        "network": "x",
        "handle": "Driftwood",
        "intent": "availability",
        "agent": "ana",
    }
    # Token, 3 filter look-ups, 9 aggregates, 3 for % within SLA (one per metric) and 1 for
    # it per network: however many tickets there are.
    with django_assert_max_num_queries(19):
        assert client.get(URL, query, **auth).status_code == 200


def test_filters_narrow_the_figures(client: Client, timeline: Timeline, lead: User) -> None:
    auth = bearer(lead)
    data = client.get(URL, {**RANGE, "handle": "DriftwoodStatus"}, **auth).json()
    fr = data["first_response"]
    assert (fr["tickets"], fr["median_seconds"], fr["p90_seconds"]) == (2, 7200.0, 90000.0)
    data = client.get(URL, {**RANGE, "agent": "ben", "intent": "praise"}, **auth).json()
    # Only t4: ben's praise ticket, answered after 300 s.
    fr = data["first_response"]
    assert (fr["tickets"], fr["median_seconds"], fr["p90_seconds"]) == (1, 300.0, 300.0)
    assert data["filters"] == {
        **EXPECTED_UNFILTERED["filters"],  # type: ignore[dict-item]
        "agent": "ben",
        "intent": "praise",
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"handle": "nobody"}, "handle"),
        ({"intent": "gossip"}, "intent"),
        ({"agent": "nobody"}, "agent"),
        ({"from": "2026-10-26", "to": "2026-10-24"}, "to"),
        ({"from": "24/10/2026"}, "from"),
        ({"from": "9999-12-30", "to": "9999-12-31"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        # Found by schemathesis: the default range would start before the calendar does.
        ({"to": "0001-01-01"}, "to"),
    ],
)
def test_bad_filters_are_a_400_naming_the_field(
    client: Client, timeline: Timeline, lead: User, query: dict[str, str], field: str
) -> None:
    response = client.get(URL, query, **bearer(lead))
    assert response.status_code in {400, 422}
    assert response.json()["field"] == field


def test_advocates_get_the_json_403_before_any_filter_is_read(
    client: Client, timeline: Timeline, advocate: User
) -> None:
    for query in (RANGE, {"handle": "nobody"}):
        response = client.get(URL, query, **bearer(advocate))
        assert response.status_code == 403
        assert response.json() == {
            "detail": "only leads and admins can read reports",
            "code": "forbidden",
            "field": None,
        }


def test_the_signed_in_page_session_works_and_nothing_else(
    client: Client, timeline: Timeline, lead: User, advocate: User
) -> None:
    assert client.get(URL, RANGE).status_code == 401
    client.force_login(advocate)
    assert client.get(URL, RANGE).status_code == 403
    client.force_login(lead)
    response = client.get(URL, RANGE)
    assert response.status_code == 200
    assert without_clock(response.json()) == EXPECTED_UNFILTERED
