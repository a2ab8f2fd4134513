"""`mentiondesk report` as an operator runs it: a real process on the test database, showing
the same figures as the selector and the API."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest
from django.test import Client

from mentiondesk.accounts.models import User
from tests.processes import command_env, mentiondesk
from tests.reports.conftest import (
    EXPECTED_UNFILTERED,
    ZONE,
    Timeline,
    oldest_seconds,
    without_clock,
)
from tests.reports.test_api import URL, bearer

pytestmark = pytest.mark.django_db(transaction=True)

RANGE = ("--from", "2026-10-24", "--to", "2026-10-26")


def report(*args: str) -> str:
    result = mentiondesk("report", *args, env=command_env(MENTIONDESK_REPORTS_TIME_ZONE=ZONE))
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_json_is_the_api_body(client: Client, timeline: Timeline, lead: User) -> None:
    data = json.loads(report(*RANGE, "--format", "json"))
    assert without_clock(data) == EXPECTED_UNFILTERED
    assert data["backlog"]["oldest_seconds"] == oldest_seconds(data, timeline["t7"])
    api = client.get(URL, {"from": "2026-10-24", "to": "2026-10-26"}, **bearer(lead)).json()
    assert without_clock(api) == without_clock(data)


def test_csv_has_one_figure_per_line(timeline: Timeline) -> None:
    rows = list(csv.reader(io.StringIO(report(*RANGE, "--format", "csv"))))
    assert rows[0] == ["section", "key", "metric", "value"]
    figures = {(s, k, m): v for s, k, m, v in rows[1:]}
    assert len(figures) == len(rows) - 1  # no figure twice
    expected = {
        ("filters", "", "time_zone"): ZONE,
        ("filters", "", "handle"): "",
        ("volume", "", "tickets"): "6",
        ("first_response", "", "answered"): "5",
        ("first_response", "", "median_seconds"): "1800.0",
        ("first_response", "", "p90_seconds"): "90000.0",
        ("backlog", "", "tickets"): "3",
        ("volume_by_day", "2026-10-25", "tickets"): "4",
        ("volume_by_hour", "2", "tickets"): "2",
        ("volume_by_hour", "3", "tickets"): "0",
        ("volume_by_intent", "availability", "tickets"): "3",
        ("volume_by_intent", "", "tickets"): "0",
        ("first_response_distribution", "24h_or_more", "tickets"): "1",
        ("first_response_by_handle", "DriftwoodStatus", "median_seconds"): "7200.0",
        ("first_response_by_handle", "Driftwood", "p90_seconds"): "1800.0",
        ("first_response_by_agent", "ben", "median_seconds"): "300.0",
        ("first_response_by_agent", "", "answered"): "0",
        ("first_response_by_agent", "", "median_seconds"): "",
        ("backlog_by_age", "7d_or_more", "tickets"): "2",
    }
    assert {key: figures.get(key) for key in expected} == expected
    # 3 days, 24 hours, 8 intents, 5 wait buckets, 2 handles (4 metrics and the network) and 3
    # agents (4 metrics each), 6 age buckets; 7 filters and 8 totals; 3 SLA metrics by 3 days
    # and in total (3 each); 3 networks (4 metrics, and 3 SLA metrics of 3 figures each); the
    # live triage model's 7 intents (6 figures each).
    assert len(figures) == (
        3 + 24 + 8 + 5 + 2 * 5 + 3 * 4 + 6 + 7 + 8 + 3 * (3 + 1) * 3 + 3 * (4 + 3 * 3) + 7 * 6
    )
    assert figures[("first_response_by_handle", "Driftwood", "network")] == "x"


def test_table_reads_like_the_page(timeline: Timeline) -> None:
    out = report(*RANGE, "--agent", "ana")
    lines = out.splitlines()
    assert lines[0] == "Tickets created 2026-10-24 to 2026-10-26 (Europe/Berlin), agent ana"
    # ana: t1 (600 s), t2 (1800 s), t6 (90000 s); t7 waits for her, from before the range.
    assert lines[1] == "  3 tickets, 3 answered; first response median 30m 00s, p90 1d 01h"
    as_of = lines[2].removeprefix("  backlog now (").split(")")[0]
    waited = datetime.fromisoformat(as_of) - timeline["t7"].created_at
    assert lines[2] == (
        f"  backlog now ({as_of}): 1 waiting, oldest {waited.days}d {waited.seconds // 3600:02d}h"
    )
    for line in (
        "  2026-10-25        2",
        "  23          2",
        "  Availability            2",
        "  24 h or more        1",
        # ana on @Driftwood: 600 and 1800 s, ranks 1 and 2; on @DriftwoodStatus: 90000 s.
        "  @Driftwood              2         2  10m 00s  30m 00s",
        "  @DriftwoodStatus        1         1   1d 01h   1d 01h",
        "  ana          3         3  30m 00s  1d 01h",
        "  7 days or more        1",
    ):
        assert line in lines


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--from", "2026-10-24"), "the following arguments are required: --to"),
        ((*RANGE, "--format", "xml"), "--format: use one of table, csv, json, not 'xml'"),
        (("--from", "24.10.2026", "--to", "2026-10-26"), "--from: '24.10.2026' is not a date"),
        ((*RANGE, "--handle", "nobody"), "--handle: no handle named @nobody"),
        (("--from", "2026-10-26", "--to", "2026-10-24"), "--to: the range ends before it starts"),
    ],
)
def test_bad_input_exits_1_with_the_reason(db: None, args: tuple[str, ...], says: str) -> None:
    result = mentiondesk("report", *args)
    assert result.returncode != 0
    assert says in result.stderr


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", ""])
def test_an_unknown_time_zone_stops_start_up(db: None, zone: str) -> None:
    result = mentiondesk("report", *RANGE, env=command_env(MENTIONDESK_REPORTS_TIME_ZONE=zone))
    assert result.returncode != 0
    assert f"MENTIONDESK_REPORTS_TIME_ZONE={zone!r} is not an IANA time zone" in result.stderr
