"""% within SLA in the report, against the hand-worked SLA timeline (tests/reports/conftest.py,
`sla_timeline`): the selector, the API and `mentiondesk report`."""

from __future__ import annotations

import csv
import io
import json

import pytest
import time_machine
from django.test import Client

from mentiondesk.accounts.models import User
from mentiondesk.reports import selectors
from mentiondesk.tickets import services
from mentiondesk.tickets.models import Ticket
from tests.processes import command_env, mentiondesk
from tests.reports.conftest import EXPECTED_SLA, SLA_FROM, SLA_TO, ZONE, sla_days, utc
from tests.reports.test_api import URL, bearer

RANGE = {"from": SLA_FROM.isoformat(), "to": SLA_TO.isoformat()}


def sla(**filters: object) -> dict[str, object]:
    report = selectors.report_build(
        filters=selectors.report_filters(date_from=SLA_FROM, date_to=SLA_TO, **filters)  # type: ignore[arg-type]
    )
    return selectors.report_as_dict(report)["sla"]  # type: ignore[no-any-return]


@pytest.mark.django_db
def test_sla_by_day_matches_the_hand_worked_figures(
    sla_timeline: dict[str, Ticket], clock: time_machine.Coordinates
) -> None:
    assert sla() == EXPECTED_SLA
    # 30 min after c5's first post its first response is late: breached on 06-03 (0 %).
    clock.move_to(utc(6, 3, 9, 31))
    data = sla()
    assert data["first_response"][2] == {  # type: ignore[index]
        "date": "2026-06-03",
        "met": 0,
        "breached": 1,
        "percent": 0.0,
    }
    assert data["totals"]["first_response"] == {"met": 3, "breached": 2, "percent": 60.0}  # type: ignore[index]
    # Its resolution (2 h) still runs: not counted.
    assert data["resolution"] == EXPECTED_SLA["resolution"]  # type: ignore[index]


@pytest.mark.django_db
def test_sla_follows_the_report_filters(sla_timeline: dict[str, Ticket], lead: User) -> None:
    # Only c1 and c3 go to the lead: 06-01 first response 1 met (c1), 1 breached (c3).
    for name in ("c1", "c3"):
        services.ticket_assign(ticket=sla_timeline[name], assignee=lead, by=lead)
    data = sla(agent=lead.username)
    assert data["first_response"] == sla_days((1, 1, 50.0), (0, 0, None), (0, 0, None))  # type: ignore[index]
    assert data["next_response"] == sla_days((1, 0, 100.0), (0, 0, None), (0, 0, None))  # type: ignore[index]
    assert data["resolution"] == sla_days((1, 1, 50.0), (0, 0, None), (0, 0, None))  # type: ignore[index]
    # A range of one day: only its clocks (c4 on Berlin's 06-02).
    report = selectors.report_build(
        filters=selectors.report_filters(date_from=SLA_FROM.replace(day=2), date_to=SLA_TO)
    )
    assert selectors.report_as_dict(report)["sla"]["totals"]["first_response"] == {
        "met": 1,
        "breached": 0,
        "percent": 100.0,
    }


@pytest.mark.django_db
def test_the_api_has_the_sla_figures(
    client: Client, sla_timeline: dict[str, Ticket], lead: User
) -> None:
    response = client.get(URL, RANGE, **bearer(lead))
    assert response.status_code == 200, response.json()
    assert response.json()["sla"] == EXPECTED_SLA


def report(*args: str) -> str:
    result = mentiondesk("report", *args, env=command_env(MENTIONDESK_REPORTS_TIME_ZONE=ZONE))
    assert result.returncode == 0, result.stderr
    return result.stdout


# The command runs on the real clock, long after c5's first response was due: 06-01 and 06-02
# only, whose clocks were all decided on the day.
CLI_RANGE = ("--from", "2026-06-01", "--to", "2026-06-02")


@pytest.mark.django_db(transaction=True)
def test_the_command_prints_the_sla_figures(sla_timeline: dict[str, Ticket]) -> None:
    data = json.loads(report(*CLI_RANGE, "--format", "json"))
    assert data["sla"] == {
        **{metric: EXPECTED_SLA[metric][:2] for metric in EXPECTED_SLA if metric != "totals"},  # type: ignore[index]
        "totals": EXPECTED_SLA["totals"],
    }

    rows = list(csv.reader(io.StringIO(report(*CLI_RANGE, "--format", "csv"))))
    figures = {(s, k, m): v for s, k, m, v in rows[1:]}
    expected = {
        ("sla_first_response", "2026-06-01", "met"): "2",
        ("sla_first_response", "2026-06-01", "breached"): "1",
        ("sla_first_response", "2026-06-01", "percent"): "66.67",
        ("sla_first_response", "2026-06-02", "percent"): "100.0",
        ("sla_next_response", "2026-06-01", "percent"): "50.0",
        ("sla_next_response", "2026-06-02", "met"): "0",
        ("sla_next_response", "2026-06-02", "percent"): "",
        ("sla_resolution", "2026-06-01", "percent"): "33.33",
        ("sla", "first_response", "percent"): "75.0",
        ("sla", "resolution", "breached"): "2",
    }
    assert {key: figures.get(key) for key in expected} == expected

    lines = report(*CLI_RANGE).splitlines()
    for line in (
        "  day         first response  next response    resolution",
        "  2026-06-01     66.67% of 3    50.00% of 2   33.33% of 3",
        "  2026-06-02    100.00% of 1              -  100.00% of 1",
        "  all days       75.00% of 4    50.00% of 2   50.00% of 4",
    ):
        assert line in lines
