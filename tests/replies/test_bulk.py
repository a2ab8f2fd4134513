"""Leads' bulk actions: each ticket through its single-ticket service (rules, an audit event
per ticket, the SLA clock), one transaction per request, skipped tickets named with why."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.core.errors import DomainError, Forbidden
from mentiondesk.replies.models import Reply
from mentiondesk.replies.services import bulk
from mentiondesk.sla.models import TicketSla
from mentiondesk.tickets.models import Ticket, TicketEvent
from tests.factories import remote_post, tickets_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def handle() -> Handle:
    return Handle.objects.create(username="Driftwood", remote_id="100", role="main")


@pytest.fixture
def tickets(handle: Handle) -> list[Ticket]:
    return tickets_from(
        handle,
        *(remote_post(author=f"user{i}", text=f"@Driftwood help {i}", minutes=i) for i in range(4)),
    )


@pytest.fixture
def admin(db: None) -> User:
    return account_services.user_create(
        username="ada", role=User.Role.ADMIN, password="pw-Secret-1"
    )


def events(kind: str) -> dict[int, list[TicketEvent]]:
    found: dict[int, list[TicketEvent]] = {}
    for event in TicketEvent.objects.filter(kind=kind).order_by("pk"):
        found.setdefault(event.ticket_id, []).append(event)
    return found


def test_solve_writes_one_audit_event_per_ticket_and_refreshes_sla(
    tickets: list[Ticket], lead: User
) -> None:
    ids = [t.pk for t in tickets]
    result = bulk.tickets_bulk_apply(ticket_ids=ids, action="solve", by=lead)
    assert result.done == ids and result.skipped == []
    assert result.summary() == "4 solved"
    assert set(Ticket.objects.values_list("status", flat=True)) == {Ticket.Status.SOLVED}
    solved = events(TicketEvent.Kind.STATUS_CHANGED)
    assert sorted(solved) == ids
    assert all(
        len(e) == 1 and e[0].actor == lead and e[0].data["to"] == "solved" for e in solved.values()
    )
    # The same SLA refresh a single solve does: every ticket has its clocks as of now.
    assert TicketSla.objects.filter(ticket_id__in=ids).count() == len(ids)


def test_solve_skips_a_ticket_with_a_reply_sending_and_says_why(
    tickets: list[Ticket], handle: Handle, lead: User, advocate: User
) -> None:
    busy, queued = tickets[1], tickets[2]
    Reply.objects.create(
        ticket=busy, handle=handle, author=advocate, text="On it", status=Reply.Status.SENDING
    )
    Reply.objects.create(
        ticket=queued, handle=handle, author=advocate, text="Soon", status=Reply.Status.QUEUED
    )
    Reply.objects.create(
        ticket=tickets[0], handle=handle, author=advocate, text="Done", status=Reply.Status.SENT
    )
    result = bulk.tickets_bulk_apply(ticket_ids=[t.pk for t in tickets], action="solve", by=lead)
    assert result.done == [tickets[0].pk, tickets[3].pk]
    assert result.skipped == [
        (busy.pk, "has a reply sending"),
        (queued.pk, "has a reply waiting to be sent"),
    ]
    assert result.summary() == (
        f"2 solved, 2 skipped: #{busy.pk} has a reply sending; "
        f"#{queued.pk} has a reply waiting to be sent"
    )
    busy.refresh_from_db()
    assert busy.status == Ticket.Status.NEW
    assert busy.pk not in events(TicketEvent.Kind.STATUS_CHANGED)


def test_closed_solved_and_missing_tickets_are_skipped(tickets: list[Ticket], lead: User) -> None:
    Ticket.objects.filter(pk=tickets[0].pk).update(status=Ticket.Status.CLOSED)
    Ticket.objects.filter(pk=tickets[1].pk).update(status=Ticket.Status.SOLVED)
    result = bulk.tickets_bulk_apply(
        ticket_ids=[tickets[0].pk, tickets[1].pk, tickets[2].pk, 999_999, 2**64, -1],
        action="solve",
        by=lead,
    )
    assert result.done == [tickets[2].pk]
    # In id order; ids no row can have (negative, past 64 bits) are no ticket either.
    assert result.skipped == [
        (-1, "not found"),
        (tickets[0].pk, "is closed"),
        (tickets[1].pk, "is already solved"),
        (999_999, "not found"),
        (2**64, "not found"),
    ]


def test_assign_goes_through_ticket_assign_and_its_rules(
    tickets: list[Ticket], lead: User, advocate: User, light_agent: User
) -> None:
    ids = [t.pk for t in tickets[:3]]
    result = bulk.tickets_bulk_apply(ticket_ids=ids, action="assign", by=lead, assignee=advocate)
    assert result.done == ids and result.summary() == "3 assigned"
    assert (
        list(Ticket.objects.filter(pk__in=ids).values_list("assignee", flat=True))
        == [advocate.pk] * 3
    )
    assigned = events(TicketEvent.Kind.ASSIGNED)
    assert sorted(assigned) == ids and all(e[0].actor == lead for e in assigned.values())
    # Already theirs: skipped, so the summary counts only real changes.
    result = bulk.tickets_bulk_apply(
        ticket_ids=ids[:1], action="assign", by=lead, assignee=advocate
    )
    assert result.summary() == f"0 assigned, 1 skipped: #{ids[0]} is already ana's"
    # ticket_assign refuses a light agent as owner: every ticket skipped with its reason,
    # nothing changed.
    result = bulk.tickets_bulk_apply(ticket_ids=ids, action="assign", by=lead, assignee=light_agent)
    assert result.done == []
    assert [why for _, why in result.skipped] == [
        "lisa is a light agent and cannot own tickets"
    ] * 3
    assert (
        list(Ticket.objects.filter(pk__in=ids).values_list("assignee", flat=True))
        == [advocate.pk] * 3
    )


def test_intent_labels_each_ticket_with_an_event(tickets: list[Ticket], admin: User) -> None:
    ids = [t.pk for t in tickets]
    result = bulk.tickets_bulk_apply(ticket_ids=ids, action="intent", by=admin, intent="praise")
    assert result.done == ids and result.summary() == "4 labelled"
    assert set(Ticket.objects.values_list("intent", flat=True)) == {"praise"}
    assert sorted(events(TicketEvent.Kind.INTENT_SET)) == ids
    again = bulk.tickets_bulk_apply(ticket_ids=ids[:1], action="intent", by=admin, intent="praise")
    assert again.skipped == [(ids[0], "is already labelled Praise")]
    with pytest.raises(DomainError, match="choose what the tickets are about"):
        bulk.tickets_bulk_apply(ticket_ids=ids, action="intent", by=admin, intent="nonsense")


@pytest.mark.parametrize("role", ["advocate", "light_agent", "infrastructure"])
def test_only_leads_and_admins_act_in_bulk(
    tickets: list[Ticket], role: str, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(role)
    with pytest.raises(Forbidden):
        bulk.tickets_bulk_apply(ticket_ids=[tickets[0].pk], action="solve", by=user)
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.STATUS_CHANGED).exists()


def test_empty_unknown_and_oversized_requests_are_refused(
    tickets: list[Ticket], lead: User
) -> None:
    with pytest.raises(DomainError, match="select at least one"):
        bulk.tickets_bulk_apply(ticket_ids=[], action="solve", by=lead)
    with pytest.raises(DomainError, match="unknown bulk action"):
        bulk.tickets_bulk_apply(ticket_ids=[tickets[0].pk], action="delete", by=lead)
    with pytest.raises(DomainError, match="at most 100"):
        bulk.tickets_bulk_apply(ticket_ids=list(range(1, 102)), action="solve", by=lead)


# ---- the pages ----


def test_leads_see_the_checkboxes_and_agents_do_not(
    client: Client, tickets: list[Ticket], lead: User, advocate: User
) -> None:
    client.force_login(advocate)
    for url in (reverse("tickets:queue"), reverse("tickets:search") + "?q=status:new"):
        page = client.get(url).content.decode()
        assert "data-bulk-pick" not in page and 'id="bulk-form"' not in page, url
    client.force_login(lead)
    for url in (reverse("tickets:queue"), reverse("tickets:search") + "?q=status:new"):
        page = client.get(url).content.decode()
        assert page.count("data-bulk-pick") == len(tickets), url
        assert (
            'id="bulk-form"' in page and "data-bulk-all" in page and "csrfmiddlewaretoken" in page
        )


def test_the_bulk_form_solves_and_comes_back_with_the_summary(
    client: Client, tickets: list[Ticket], handle: Handle, lead: User, advocate: User
) -> None:
    Reply.objects.create(
        ticket=tickets[0], handle=handle, author=advocate, text="On it", status=Reply.Status.SENDING
    )
    client.force_login(lead)
    back = reverse("tickets:queue") + "?view=twitter"
    response = client.post(
        reverse("tickets:bulk"),
        {"ticket": [t.pk for t in tickets], "action": "solve", "next": back},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == back
    page = response.content.decode()
    assert f"3 solved, 1 skipped: #{tickets[0].pk} has a reply sending." in page
    # An outside address in `next` is not followed.
    response = client.post(
        reverse("tickets:bulk"),
        {"ticket": [tickets[0].pk], "action": "solve", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("tickets:queue")


def test_an_agent_posting_the_form_changes_nothing(
    client: Client, tickets: list[Ticket], advocate: User
) -> None:
    client.force_login(advocate)
    response = client.post(
        reverse("tickets:bulk"), {"ticket": [tickets[0].pk], "action": "solve"}, follow=True
    )
    assert "only leads and admins act on many tickets at once" in response.content.decode()
    assert Ticket.objects.filter(status=Ticket.Status.SOLVED).count() == 0


def test_the_bulk_form_needs_the_csrf_token(tickets: list[Ticket], lead: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(lead)
    response = client.post(reverse("tickets:bulk"), {"ticket": [tickets[0].pk], "action": "solve"})
    assert response.status_code == 403
    assert Ticket.objects.filter(status=Ticket.Status.SOLVED).count() == 0


def test_the_bulk_form_without_an_action_changes_nothing(
    client: Client, tickets: list[Ticket], lead: User, advocate: User
) -> None:
    Ticket.objects.filter(pk=tickets[0].pk).update(assignee=advocate)
    client.force_login(lead)
    page = client.get(reverse("tickets:queue")).content.decode()
    assert '<option value="" selected>Choose an action…</option>' in page
    response = client.post(
        reverse("tickets:bulk"),
        {"ticket": [tickets[0].pk], "action": "", "assignee": ""},
        follow=True,
    )
    assert "Choose an action for the selected tickets." in response.content.decode()
    assert Ticket.objects.get(pk=tickets[0].pk).assignee == advocate
