"""Several people pressing the incident card's button at the same moment on PostgreSQL: every
grouped ticket still gets exactly one reply, and the card records it as answered."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, connections

from mentiondesk.accounts import services as account_services
from mentiondesk.channels.models import Handle
from mentiondesk.incidents import services
from mentiondesk.incidents.models import SurgeTicket
from mentiondesk.replies.models import Reply
from mentiondesk.tickets.models import Ticket
from tests.factories import BASE_TIME, remote_post, tickets_from

CLICKS = 6
TICKETS = 12


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_clicks_send_one_reply_per_ticket() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("runs on PostgreSQL (set MENTIONDESK_DATABASE_URL); SQLite serialises writers")
    Handle.objects.create(username="Driftwood", remote_id="100")
    handle = Handle.objects.get()
    tickets_from(
        handle,
        *(
            remote_post(author=f"u{i}", text="@Driftwood down?", minutes=i / 4)
            for i in range(TICKETS)
        ),
    )
    Ticket.objects.update(intent="availability")
    surge = services.surge_detect(now=BASE_TIME + timedelta(minutes=4))
    assert surge is not None and surge.members.count() == TICKETS
    people = [account_services.user_create(username=f"lead{i}", role="lead") for i in range(CLICKS)]
    errors: list[BaseException] = []
    start = threading.Barrier(CLICKS)

    def click(index: int) -> None:
        try:
            start.wait()
            services.surge_reply_all(
                surge=surge, by=people[index], incident_url="https://status.dw/i/1"
            )
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click, args=(i,)) for i in range(CLICKS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not errors, errors
    per_ticket = Counter(Reply.objects.values_list("ticket_id", flat=True))
    assert len(per_ticket) == TICKETS and set(per_ticket.values()) == {1}
    assert not SurgeTicket.objects.filter(reply__isnull=True).exists()
    assert not SurgeTicket.objects.exclude(reply_skipped="").exists()
