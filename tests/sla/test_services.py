"""SLA clocks through the real services: ingest (the requester's posts and a reply sent from
the X app), status changes by an agent, intent and escalation (a policy applied and the breach
alerts are in tests/actions). The timeline is the one of test_clock.py, whose answers were
worked out by hand; here the clocks must come out the same from posts and events in the
database."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import time_machine
from django.core.management import call_command

from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.models import Handle
from mentiondesk.integrations.slack import escalations
from mentiondesk.sandbox.slack import SlackServer
from mentiondesk.sla import selectors, services
from mentiondesk.sla.models import SlaClock, TicketSla
from mentiondesk.tickets.models import Ticket

from .conftest import at, carol_says, sla_of, we_say_from_the_x_app


def test_clocks_follow_the_post_timeline_pauses_and_reopen(
    handle: Handle, advocate: User, clock: time_machine.Coordinates
) -> None:
    clock.move_to(at(10, 0, 30))
    carol_says(handle, at(10))
    ticket = Ticket.objects.get()
    state = sla_of(ticket)
    assert (state.target, state.due_metric, state.due_at) == (
        "default",
        "first_response",
        at(10, 30),
    )

    clock.move_to(at(10, 20, 30))
    we_say_from_the_x_app(handle, at(10, 20))
    state = sla_of(ticket)
    # First response met; what remains is resolution: 2 h from 10:00.
    assert (state.due_metric, state.due_at) == ("resolution", at(12))

    clock.move_to(at(10, 21))
    ticket_actions.ticket_status_set(ticket=ticket, status="pending", by=advocate)
    state = sla_of(ticket)
    assert state.due_at is None
    assert state.paused_seconds_left == (120 - 21) * 60
    assert (
        selectors.ticket_sla_badge(ticket=Ticket.objects.select_related("sla").get()).state
        == "paused"
    )

    clock.move_to(at(12, 0, 30))
    carol_says(handle, at(12))  # they answer: open again, next response due 12:45
    assert (sla_of(ticket).due_metric, sla_of(ticket).due_at) == ("next_response", at(12, 45))

    clock.move_to(at(12, 10))
    ticket_actions.ticket_status_set(ticket=ticket, status="pending", by=advocate)
    clock.move_to(at(13, 0, 30))
    carol_says(handle, at(13))
    # 10 of 45 minutes were used before the pause: due 13:35.
    assert sla_of(ticket).due_at == at(13, 35)

    clock.move_to(at(13, 50, 30))
    we_say_from_the_x_app(handle, at(13, 50))
    clock.move_to(at(14))
    ticket_actions.ticket_status_set(ticket=ticket, status="solved", by=advocate)
    assert sla_of(ticket).due_at is None
    clock.move_to(at(16))
    ticket_actions.ticket_status_set(ticket=ticket, status="open", by=advocate)
    # Reopened: a next-response clock from 16:00, and resolution (91 min used) due 16:29.
    assert (sla_of(ticket).due_metric, sla_of(ticket).due_at) == ("resolution", at(16, 29))

    clock.move_to(at(16, 30))
    outcomes = [
        (o.metric, o.started_at, o.elapsed_seconds, o.outcome)
        for o in selectors.sla_outcomes(Ticket.objects.all())
    ]
    assert outcomes == [
        ("first_response", at(10), 20 * 60, "met"),
        ("resolution", at(10), 121 * 60, "breached"),
        ("next_response", at(12), 60 * 60, "breached"),
        ("next_response", at(16), 30 * 60, "running"),
    ]
    badge = selectors.ticket_sla_badge(ticket=Ticket.objects.select_related("sla").get())
    assert (badge.state, badge.metric, badge.seconds_left, badge.breached) == (
        "overdue",
        "resolution",
        -60,
        True,
    )


def test_attainment_per_day_counts_decided_clocks(
    handle: Handle, clock: time_machine.Coordinates
) -> None:
    # Three mentions on 06-01 and 06-02; answers after 10 min, 40 min, and not yet.
    for conversation, (start, answer) in {
        "1": (datetime(2026, 6, 1, 9, tzinfo=UTC), datetime(2026, 6, 1, 9, 10, tzinfo=UTC)),
        "2": (datetime(2026, 6, 1, 23, tzinfo=UTC), datetime(2026, 6, 1, 23, 40, tzinfo=UTC)),
        "3": (at(11), None),
    }.items():
        clock.move_to(start)
        carol_says(handle, start, conversation)
        if answer:
            clock.move_to(answer)
            we_say_from_the_x_app(handle, answer, conversation)
    clock.move_to(at(11, 20))
    rows = selectors.sla_attainment(Ticket.objects.all(), metric="first_response")
    # 06-01: one met (10 min), one breached (40 > 30); 06-02: still within target, not counted.
    assert [(r.period, r.met, r.breached, r.percent) for r in rows] == [
        (date(2026, 6, 1), 1, 1, 50.0)
    ]
    # In Amsterdam (UTC+2 in June) the 23:00 UTC mention was on 06-02.
    rows = selectors.sla_attainment(
        Ticket.objects.all(), metric="first_response", time_zone="Europe/Amsterdam"
    )
    assert [(r.period, r.percent) for r in rows] == [
        (date(2026, 6, 1), 100.0),
        (date(2026, 6, 2), 0.0),
    ]
    clock.move_to(at(11, 31))  # the open one is now late too
    rows = selectors.sla_attainment(Ticket.objects.all(), metric="first_response")
    assert [(r.period, r.met, r.breached) for r in rows] == [
        (date(2026, 6, 1), 1, 1),
        (date(2026, 6, 2), 0, 1),
    ]


def test_availability_and_escalation_raise_priority_and_change_targets(
    handle: Handle, advocate: User, clock: time_machine.Coordinates, slack: SlackServer
) -> None:
    clock.move_to(at(10, 1))
    carol_says(handle, at(10))
    ticket = Ticket.objects.get()
    assert sla_of(ticket).due_at == at(10, 30)
    ticket_actions.ticket_intent_set(ticket=ticket, intent="availability", by=advocate)
    assert (sla_of(ticket).target, sla_of(ticket).priority) == ("outage", "high")
    assert sla_of(ticket).due_at == at(10, 15)
    ticket_actions.ticket_intent_set(ticket=ticket, intent="praise", by=advocate)
    assert sla_of(ticket).due_at == at(10, 30)
    escalations.ticket_escalate(ticket=ticket, by=advocate, category="hosted")
    assert (sla_of(ticket).target, sla_of(ticket).due_at) == ("outage", at(10, 15))


def test_refresh_all_rebuilds_every_clock(handle: Handle, clock: time_machine.Coordinates) -> None:
    clock.move_to(at(10, 1))
    carol_says(handle, at(10))
    SlaClock.objects.all().delete()
    TicketSla.objects.all().delete()
    assert services.tickets_sla_refresh_all(active_only=False) == 1
    assert sla_of(Ticket.objects.get()).due_at == at(10, 30)


def test_sla_refresh_command(handle: Handle, clock: time_machine.Coordinates) -> None:
    clock.move_to(at(10, 1))
    carol_says(handle, at(10))
    TicketSla.objects.all().delete()
    out = io.StringIO()
    call_command("sla", "refresh", "--all", stdout=out)
    assert out.getvalue().strip() == "refreshed 1 tickets"
    assert sla_of(Ticket.objects.get()).due_at == at(10, 30)
