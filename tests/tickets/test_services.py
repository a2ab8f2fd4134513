from __future__ import annotations

import pytest

from mentiondesk.accounts.models import User
from mentiondesk.actions import policy as policy_actions
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.models import Handle
from mentiondesk.core.errors import Conflict, DomainError, Forbidden
from mentiondesk.tickets import services
from mentiondesk.tickets.models import Ticket, TicketEvent
from tests.factories import remote_post, tickets_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def handle() -> Handle:
    return Handle.objects.create(username="Driftwood", remote_id="100", role="main")


def test_ticket_next_hands_out_oldest_first_and_never_twice(
    handle: Handle, advocate: User, advocate2: User
) -> None:
    newer, older = tickets_from(
        handle, remote_post(author="b", minutes=30), remote_post(author="a", minutes=0)
    )[::-1]
    first = services.ticket_next(user=advocate)
    second = services.ticket_next(user=advocate2)
    assert first is not None and second is not None
    assert (first.pk, second.pk) == (older.pk, newer.pk)
    assert first.assignee == advocate and first.status == Ticket.Status.OPEN
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.ASSIGNED).count() == 2
    ticket_actions.ticket_status_set(ticket=first, status="solved", by=advocate)
    assert services.ticket_next(user=advocate) is None


def test_ticket_next_skips_solved_and_pending(handle: Handle, advocate: User) -> None:
    tickets_from(handle, remote_post(author="a"), remote_post(author="b", minutes=1))
    Ticket.objects.filter(requester_username="a").update(status=Ticket.Status.PENDING)
    ticket = services.ticket_next(user=advocate)
    assert ticket is not None and ticket.requester_username == "b"


def test_light_agents_do_not_play(handle: Handle, light_agent: User) -> None:
    tickets_from(handle, remote_post())
    with pytest.raises(Forbidden):
        services.ticket_next(user=light_agent)


def test_unknown_or_unplayable_view_is_refused(advocate: User) -> None:
    with pytest.raises(DomainError, match="unknown view"):
        services.ticket_next(user=advocate, view="nope")
    with pytest.raises(DomainError, match="cannot be played"):
        services.ticket_next(user=advocate, view="solved")


def test_advocates_assign_only_to_themselves(
    handle: Handle, advocate: User, advocate2: User, lead: User
) -> None:
    (ticket,) = tickets_from(handle, remote_post())
    with pytest.raises(Forbidden):
        services.ticket_assign(ticket=ticket, assignee=advocate2, by=advocate)
    services.ticket_assign(ticket=ticket, assignee=advocate, by=advocate)
    with pytest.raises(Conflict):
        services.ticket_assign(ticket=ticket, assignee=advocate2, by=advocate2)
    services.ticket_assign(ticket=ticket, assignee=advocate2, by=lead)
    ticket.refresh_from_db()
    assert ticket.assignee == advocate2


# No skipping outside Play (handbook: "use Play mode", "not skip any tickets")


@pytest.fixture
def queue(handle: Handle) -> list[Ticket]:
    """Three tickets of the Twitter view, oldest first."""
    return tickets_from(
        handle,
        remote_post(author="a", minutes=0),
        remote_post(author="b", minutes=10),
        remote_post(author="c", minutes=20),
    )


def test_taking_the_head_of_the_queue_needs_no_reason(queue: list[Ticket], advocate: User) -> None:
    assert services.ticket_take_rule(ticket=queue[0], user=advocate) == services.Take()
    services.ticket_assign(ticket=queue[0], assignee=advocate, by=advocate)
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.TAKEN_OUT_OF_ORDER).exists()


def test_taking_out_of_order_needs_a_reason_and_is_audited(
    queue: list[Ticket], advocate: User
) -> None:
    with pytest.raises(DomainError, match=f"Play gives you #{queue[0].pk} next") as refused:
        services.ticket_assign(ticket=queue[2], assignee=advocate, by=advocate, reason=" ")
    assert refused.value.field == "reason"
    queue[2].refresh_from_db()
    assert queue[2].assignee is None
    services.ticket_assign(ticket=queue[2], assignee=advocate, by=advocate, reason="VIP")
    queue[2].refresh_from_db()
    assert queue[2].assignee == advocate
    taken = queue[2].events.get(kind=TicketEvent.Kind.TAKEN_OUT_OF_ORDER)
    assert (taken.actor, taken.message) == (advocate, "VIP")
    assert taken.data == {"via": "assign", "from": None, "to": "ana", "play_next": queue[0].pk}


def test_holding_a_ticket_makes_every_other_take_out_of_order(
    queue: list[Ticket], advocate: User, advocate2: User
) -> None:
    held = services.ticket_next(user=advocate)
    assert held is not None and held.pk == queue[0].pk
    # Play gives ana her own ticket again, so even the oldest unassigned one skips it.
    rule = services.ticket_take_rule(ticket=queue[1], user=advocate)
    assert rule.next_ticket_id == queue[0].pk and rule.asks
    # For ben, who holds nothing, that ticket is the head of the queue.
    assert services.ticket_take_rule(ticket=queue[1], user=advocate2) == services.Take()


def test_leads_and_admins_are_not_bound(queue: list[Ticket], lead: User) -> None:
    services.ticket_assign(ticket=queue[2], assignee=lead, by=lead)
    queue[2].refresh_from_db()
    assert queue[2].assignee == lead
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.TAKEN_OUT_OF_ORDER).exists()


def test_the_policy_can_refuse_out_of_order_takes(queue: list[Ticket], advocate: User) -> None:
    policy_actions.policy_apply_text(
        text='[[handle]]\nusername = "Driftwood"\n[rules]\nout_of_order = "never"\n',
        source="never.toml",
    )
    with pytest.raises(Forbidden, match="take tickets of the Twitter view with Next"):
        services.ticket_assign(ticket=queue[1], assignee=advocate, by=advocate, reason="VIP")
    services.ticket_assign(ticket=queue[0], assignee=advocate, by=advocate)


def test_tickets_outside_every_play_queue_skip_nobody(
    queue: list[Ticket], handle: Handle, advocate: User
) -> None:
    pending = queue[2]
    Ticket.objects.filter(pk=pending.pk).update(status=Ticket.Status.PENDING)
    pending.refresh_from_db()
    assert services.ticket_take_rule(ticket=pending, user=advocate) == services.Take()
    stream = Handle.objects.create(
        username="MoveToDriftwood", remote_id="300", role="campaign", respond_from="stream"
    )
    (streamed,) = tickets_from(stream, remote_post(author="d", text="@MoveToDriftwood hi"))
    assert services.ticket_take_rule(ticket=streamed, user=advocate) == services.Take()
