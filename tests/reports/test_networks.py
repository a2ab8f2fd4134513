"""Reports by network (issue 17): one desk answering on X, Mastodon and Bluesky, the network
filter and the breakdown per network, through the selector, the API and `mentiondesk report`.

The desk has the SLA tests' targets (first response 30 min, resolution 2 h, around the clock)
and one main handle per network; @Driftwood on X and @driftwood on Mastodon share a name.
Posts go through the real ingest (our answers read back from our own timeline, as if sent
from the network's app: the ticket goes pending, when no clock counts), status through the
services. On 2026-06-02, UTC; the report runs at 18:00 for that day.

    ticket network  first post  our answer (wait s)  solved  first response  resolution
    x1     x        09:00       09:10 (600)          09:20   met             met
    x2     x        10:00       11:00 (3600)         -       breached        paused at 1 h
    m1     mastodon 09:30       09:35 (300)          09:40   met             met
    m2     mastodon 12:00       12:20 (1200)         13:00   met             met
    m3     mastodon 13:00       -                    -       breached 13:30  breached 15:00
    b1     bluesky  14:00       16:00 (7200)         -       breached        paused at 2 h

Nearest-rank median and p90 (rank ceil(p/100 * n) of the sorted waits): X [600, 3600] -> ranks
1 and 2; Mastodon [300, 1200] -> 1 and 2 (m3 unanswered); Bluesky [7200] -> 1 and 1; all
[300, 600, 1200, 3600, 7200] -> ranks 3 and 5. % within SLA, first response: X 1 of 2, Mastodon
2 of 3, Bluesky 0 of 1, all 3 of 6; resolution (a paused clock within target is not counted
yet): X 1 of 1, Mastodon 2 of 3, Bluesky none, all 3 of 4. Nobody asked again: no
next-response clock anywhere."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.test import Client

from mentiondesk.accounts.models import User
from mentiondesk.actions import policy as policy_actions
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.models import Handle
from mentiondesk.core.errors import DomainError
from mentiondesk.reports import selectors
from mentiondesk.tickets.models import Ticket
from tests.factories import remote_post
from tests.processes import command_env, mentiondesk
from tests.reports.conftest import sla_totals, times
from tests.reports.test_api import URL, bearer
from tests.sla.conftest import store

DAY = date(2026, 6, 2)
NOW = datetime(2026, 6, 2, 18, 0, tzinfo=UTC)
POLICY = """
[[handle]]
network = "x"
username = "Driftwood"
user_id = "100"

[[handle]]
network = "mastodon"
username = "driftwood"
instance = "https://social.example"
user_id = "110"
credentials_env = "MENTIONDESK_MASTODON_TOKEN_DRIFTWOOD"

[[handle]]
network = "bluesky"
username = "driftwood.example"
service = "https://bsky.example"
user_id = "did:plc:driftwood"
credentials_env = "MENTIONDESK_BLUESKY_PASSWORD_DRIFTWOOD"

[sla]
breach_channel = "support_managers"

[[sla.target]]
name = "default"
first_response = "30m"
next_response = "45m"
resolution = "2h"
"""
PLAN = [
    # ticket, network, first post, our answer, solved (hour, minute) on DAY
    ("x1", "x", (9, 0), (9, 10), (9, 20)),
    ("x2", "x", (10, 0), (11, 0), None),
    ("m1", "mastodon", (9, 30), (9, 35), (9, 40)),
    ("m2", "mastodon", (12, 0), (12, 20), (13, 0)),
    ("m3", "mastodon", (13, 0), None, None),
    ("b1", "bluesky", (14, 0), (16, 0), None),
]


def at(hour: int, minute: int) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=UTC)


def remote_id(network: str, name: str, *, ours: bool = False) -> str:
    """The post's id as its network names it: a Bluesky post by its at:// URI, the others by
    a number (the plan's row, then 1 for our answer)."""
    row = next(i for i, plan in enumerate(PLAN) if plan[0] == name)
    if network == "bluesky":
        author = "did:plc:driftwood" if ours else f"did:plc:{name}requester"
        return f"at://{author}/app.bsky.feed.post/3kq{row}{int(ours)}"
    return f"7{row:03d}{int(ours)}"


@pytest.fixture
def networks(db: None, lead: User) -> Iterator[dict[str, Ticket]]:
    """The table above; the clock stops at NOW. Returns the tickets by name."""
    with time_machine.travel(at(8, 0), tick=False) as clock:
        policy_actions.policy_apply_text(text=POLICY, source="networks.toml")
        steps = []
        for name, network, asked, answered, solved in PLAN:
            handle = Handle.objects.get(network=network)
            mention_id = remote_id(network, name)
            mention = remote_post(
                author=f"{name}requester",
                text=f"@{handle.username} help with {name}",
                remote_id=mention_id,
                conversation_id=mention_id,
            )
            steps.append((at(*asked), handle, mention, None))
            if answered is not None:
                answer = remote_post(
                    author=handle.username,
                    author_id=handle.remote_id,
                    text=f"@{name}requester on it",
                    remote_id=remote_id(network, name, ours=True),
                    conversation_id=mention_id,
                    in_reply_to_id=mention_id,
                    mentions=(f"{name}requester",),
                )
                steps.append((at(*answered), handle, answer, None))
            if solved is not None:
                steps.append((at(*solved), handle, None, mention_id))
        for when, handle, post, solve in sorted(steps, key=lambda s: s[0]):
            clock.move_to(when)
            if post is not None:
                store(handle, replace(post, created_at=when))
            else:
                ticket = Ticket.objects.get(conversation_id=solve)
                ticket_actions.ticket_status_set(ticket=ticket, status="solved", by=lead)
        clock.move_to(NOW)
        tickets = {t.requester_username.removesuffix("requester"): t for t in Ticket.objects.all()}
        assert sorted(tickets) == sorted(p[0] for p in PLAN)
        yield tickets


def report(**filters: str) -> dict[str, object]:
    return selectors.report_as_dict(
        selectors.report_build(
            filters=selectors.report_filters(date_from=DAY, date_to=DAY, **filters)  # type: ignore[arg-type]
        )
    )


EXPECTED_BY_NETWORK = [
    {
        **times("x", "X", 2, 2, 600.0, 3600.0),
        "sla": sla_totals(first_response=(1, 1, 50.0), resolution=(1, 0, 100.0)),
    },
    {
        **times("mastodon", "Mastodon", 3, 2, 300.0, 1200.0),
        "sla": sla_totals(first_response=(2, 1, 66.67), resolution=(2, 1, 66.67)),
    },
    {
        **times("bluesky", "Bluesky", 1, 1, 7200.0, 7200.0),
        "sla": sla_totals(first_response=(0, 1, 0.0)),
    },
]


def test_each_network_is_reported_on_its_own(networks: dict[str, Ticket]) -> None:
    data = report()
    assert data["by_network"] == EXPECTED_BY_NETWORK
    fr = data["first_response"]
    assert (fr["tickets"], fr["answered"], fr["median_seconds"], fr["p90_seconds"]) == (  # type: ignore[index]
        6,
        5,
        1200.0,
        7200.0,
    )
    # The networks' clocks add up to the range's totals.
    assert data["sla"]["totals"] == sla_totals(  # type: ignore[index]
        first_response=(3, 3, 50.0), resolution=(3, 1, 75.0)
    )
    # Same name, two handles: one row each, the network named.
    assert [(h["label"], h["network"], h["tickets"]) for h in fr["by_handle"]] == [  # type: ignore[index]
        ("@Driftwood", "x", 2),
        ("@driftwood (Mastodon)", "mastodon", 3),
        ("@driftwood.example (Bluesky)", "bluesky", 1),
    ]


def test_the_network_filter_keeps_that_networks_tickets(networks: dict[str, Ticket]) -> None:
    data = report(network="mastodon")
    assert data["filters"]["network"] == "mastodon"  # type: ignore[index]
    assert data["volume"]["tickets"] == 3  # type: ignore[index]
    fr = data["first_response"]
    assert (fr["answered"], fr["median_seconds"], fr["p90_seconds"]) == (2, 300.0, 1200.0)  # type: ignore[index]
    assert data["sla"]["totals"] == sla_totals(  # type: ignore[index]
        first_response=(2, 1, 66.67), resolution=(2, 1, 66.67)
    )
    # Every network still listed, the others empty.
    assert data["by_network"] == [  # type: ignore[index]
        {**times("x", "X", 0, 0, None, None), "sla": sla_totals()},
        EXPECTED_BY_NETWORK[1],
        {**times("bluesky", "Bluesky", 0, 0, None, None), "sla": sla_totals()},
    ]
    # Waiting now: m3 only (x2 and b1 pending after our answers; m1 and m2 solved).
    assert data["backlog"]["tickets"] == 1  # type: ignore[index]


def test_a_name_on_two_networks_needs_the_network(networks: dict[str, Ticket]) -> None:
    with pytest.raises(DomainError) as caught:
        report(handle="@driftwood")
    assert caught.value.field == "handle"
    assert (
        caught.value.message == "@driftwood is a handle on Mastodon and X: choose the network too"
    )
    x = report(handle="driftwood", network="x")
    assert (x["filters"]["handle"], x["volume"]["tickets"]) == ("Driftwood", 2)  # type: ignore[index]
    assert report(handle="driftwood.example")["volume"]["tickets"] == 1  # type: ignore[index]
    with pytest.raises(DomainError) as caught:
        report(handle="driftwood.example", network="mastodon")
    assert (caught.value.field, caught.value.message) == (
        "handle",
        "no handle named @driftwood.example on Mastodon",
    )
    with pytest.raises(DomainError) as caught:
        report(network="threads")
    assert caught.value.field == "network"


def test_the_api_takes_the_network_and_answers_per_network(
    client: Client, networks: dict[str, Ticket], lead: User
) -> None:
    auth = bearer(lead)
    day = {"from": DAY.isoformat(), "to": DAY.isoformat()}
    data = client.get(URL, day, **auth).json()
    assert data["by_network"] == EXPECTED_BY_NETWORK
    data = client.get(URL, {**day, "network": "bluesky"}, **auth).json()
    assert (data["filters"]["network"], data["volume"]["tickets"]) == ("bluesky", 1)
    response = client.get(URL, {**day, "network": "threads"}, **auth)
    assert response.status_code == 400
    assert response.json()["field"] == "network"
    response = client.get(URL, {**day, "handle": "Driftwood"}, **auth)
    assert (response.status_code, response.json()["field"]) == (400, "handle")


@pytest.mark.django_db(transaction=True)
def test_the_command_prints_the_networks(networks: dict[str, Ticket]) -> None:
    def run(*args: str) -> str:
        result = mentiondesk(
            "report", "--from", DAY.isoformat(), "--to", DAY.isoformat(), *args, env=command_env()
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    lines = run().splitlines()
    # The day's clocks were all decided long before the command runs (the real clock).
    for line in (
        "  network   tickets  answered   median      p90  first response  next response"
        "    resolution",
        "  X               2         2  10m 00s   1h 00m     50.00% of 2              -"
        "  100.00% of 1",
        "  Mastodon        3         2   5m 00s  20m 00s     66.67% of 3              -"
        "   66.67% of 3",
        "  Bluesky         1         1   2h 00m   2h 00m      0.00% of 1              -"
        "             -",
    ):
        assert line in lines
    assert json.loads(run("--format", "json"))["by_network"] == EXPECTED_BY_NETWORK

    rows = list(csv.reader(io.StringIO(run("--network", "mastodon", "--format", "csv"))))
    figures = {(s, k, m): v for s, k, m, v in rows[1:]}
    assert len(figures) == len(rows) - 1  # no figure twice
    expected = {
        ("filters", "", "network"): "mastodon",
        ("volume", "", "tickets"): "3",
        ("by_network", "mastodon", "median_seconds"): "300.0",
        ("by_network", "mastodon", "p90_seconds"): "1200.0",
        ("by_network", "x", "tickets"): "0",
        ("by_network", "x", "median_seconds"): "",
        ("by_network_sla", "mastodon/first_response", "percent"): "66.67",
        ("by_network_sla", "mastodon/next_response", "percent"): "",
        ("by_network_sla", "bluesky/resolution", "met"): "0",
        ("by_network_sla", "bluesky/resolution", "percent"): "",
    }
    assert {key: figures.get(key) for key in expected} == expected

    result = mentiondesk(
        "report", "--from", DAY.isoformat(), "--to", DAY.isoformat(), "--network", "x.com"
    )
    assert result.returncode != 0
    assert "--network: unknown network 'x.com'; use one of x, mastodon, bluesky" in result.stderr
