"""The report's figures against the hand-worked timeline (tests/reports/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mentiondesk.accounts.models import User
from mentiondesk.core.errors import DomainError, Forbidden
from mentiondesk.reports import selectors
from tests.reports.conftest import (
    EXPECTED_UNFILTERED,
    FROM,
    TO,
    Timeline,
    oldest_seconds,
    without_clock,
)

pytestmark = pytest.mark.django_db


def report(**filters: object) -> dict[str, object]:
    return selectors.report_as_dict(
        selectors.report_build(
            filters=selectors.report_filters(date_from=FROM, date_to=TO, **filters)  # type: ignore[arg-type]
        )
    )


def test_unfiltered_report_matches_the_hand_worked_figures(timeline: Timeline) -> None:
    data = report()
    assert without_clock(data) == EXPECTED_UNFILTERED
    assert data["backlog"]["oldest_seconds"] == oldest_seconds(data, timeline["t7"])  # type: ignore[index]


def test_handle_filter(timeline: Timeline) -> None:
    data = report(handle="@driftwoodstatus")
    assert data["filters"]["handle"] == "DriftwoodStatus"  # type: ignore[index]
    assert data["volume"]["tickets"] == 2  # type: ignore[index]
    assert [d["tickets"] for d in data["volume"]["by_day"]] == [0, 2, 0]  # type: ignore[index]
    # t3 at 02:30 CEST, t6 at 23:59 CET
    hours = {h["hour"]: h["tickets"] for h in data["volume"]["by_hour"] if h["tickets"]}  # type: ignore[index]
    assert hours == {2: 1, 23: 1}
    fr = data["first_response"]
    assert (fr["answered"], fr["median_seconds"], fr["p90_seconds"]) == (2, 7200.0, 90000.0)  # type: ignore[index]
    assert [h["key"] for h in fr["by_handle"]] == ["DriftwoodStatus"]  # type: ignore[index]
    assert data["backlog"]["tickets"] == 0  # type: ignore[index]
    assert data["backlog"]["oldest_seconds"] is None  # type: ignore[index]


def test_intent_filter(timeline: Timeline) -> None:
    data = report(intent="availability")
    # t1 (600), t3 (7200), t6 (90000): ranks ceil(1.5) = 2 and ceil(2.7) = 3.
    fr = data["first_response"]
    assert (fr["tickets"], fr["median_seconds"], fr["p90_seconds"]) == (3, 7200.0, 90000.0)  # type: ignore[index]
    counts = {i["intent"]: i["tickets"] for i in data["volume"]["by_intent"]}  # type: ignore[index]
    assert counts["availability"] == 3
    assert sum(counts.values()) == 3
    assert data["backlog"]["tickets"] == 0  # type: ignore[index]


def test_agent_filter(timeline: Timeline) -> None:
    ben = report(agent="BEN")
    fr = ben["first_response"]
    assert (fr["tickets"], fr["median_seconds"], fr["p90_seconds"]) == (2, 300.0, 7200.0)  # type: ignore[index]
    assert [a["key"] for a in fr["by_agent"]] == ["ben"]  # type: ignore[index]
    ana = report(agent="ana")
    # Only t7 waits for ana: created before the range, in the backlog all the same.
    assert ana["backlog"]["tickets"] == 1  # type: ignore[index]
    assert ana["backlog"]["oldest_seconds"] == oldest_seconds(ana, timeline["t7"])  # type: ignore[index]


def test_a_one_day_range_on_the_day_the_clocks_go_back(timeline: Timeline) -> None:
    """2026-10-25 in Berlin lasts 25 hours: 2026-10-24 22:00 UTC to 2026-10-25 23:00 UTC."""
    f = selectors.report_filters(date_from=TO - timedelta(days=1), date_to=TO - timedelta(days=1))
    assert f.end - f.start == timedelta(hours=25)
    data = selectors.report_as_dict(selectors.report_build(filters=f))
    assert data["volume"]["tickets"] == 4  # type: ignore[index]
    # t2 at 00:30, t3 at the first 02:30, t4 at the second 02:30, t6 at 23:59.
    hours = {h["hour"]: h["tickets"] for h in data["volume"]["by_hour"] if h["tickets"]}  # type: ignore[index]
    assert hours == {0: 1, 2: 2, 23: 1}


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"handle": "nobody"}, "handle"),
        ({"intent": "gossip"}, "intent"),
        ({"agent": "nobody"}, "agent"),
        ({"date_from": TO, "date_to": FROM}, "to"),
        ({"date_from": FROM - timedelta(days=400), "date_to": FROM}, "from"),
    ],
)
def test_bad_filters_name_the_field(
    handles: object, filters: dict[str, object], field: str
) -> None:
    with pytest.raises(DomainError) as caught:
        selectors.report_filters(**filters)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_default_range_is_the_last_30_days_up_to_today(db: None) -> None:
    from datetime import date

    f = selectors.report_filters(today=date(2026, 11, 30))
    assert (f.date_from, f.date_to) == (date(2026, 11, 1), date(2026, 11, 30))


@pytest.mark.parametrize(
    "role", [User.Role.ADVOCATE, User.Role.INFRASTRUCTURE, User.Role.LIGHT_AGENT]
)
def test_only_leads_and_admins_get_a_report(db: None, role: str) -> None:
    viewer = User.objects.create(username=f"u-{role}", role=role)
    f = selectors.report_filters(date_from=FROM, date_to=TO)
    with pytest.raises(Forbidden):
        selectors.report_get(viewer=viewer, filters=f)
    for allowed in (User.Role.LEAD, User.Role.ADMIN):
        viewer.role = allowed
        assert selectors.report_get(viewer=viewer, filters=f).filters == f


@pytest.mark.parametrize(
    ("n", "median_rank", "p90_rank"),
    [(1, 1, 1), (2, 1, 2), (4, 2, 4), (10, 5, 9), (11, 6, 10), (20, 10, 18), (21, 11, 19)],
)
def test_nearest_rank(n: int, median_rank: int, p90_rank: int) -> None:
    waits = [timedelta(seconds=s) for s in range(1, n + 1)]  # the value is its rank
    assert selectors.nearest_rank(waits, 50) == timedelta(seconds=median_rank)
    assert selectors.nearest_rank(waits, 90) == timedelta(seconds=p90_rank)
    assert selectors.nearest_rank([], 50) is None
