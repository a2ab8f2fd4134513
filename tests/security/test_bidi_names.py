"""A username from the network is hostile text too: right-to-left letters or a bidi override
(U+202E) in it must not reorder the desk's own sentences around it ("In reply to @…'s latest
post", the page title). Every place a requester's name is shown isolates it: `<bdi>` in the
page, FSI…PDI where tags do not render (the title, attribute values)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from mentiondesk.tickets.services import ticket_assign
from tests.factories import remote_post, tickets_from

pytestmark = pytest.mark.django_db

# A right-to-left override, then Hebrew and Arabic letters.
NAME = "\u202e\u05e9\u05dc\u05d5\u05dd_\u0633\u0644\u0627\u0645"  # shalom_salam
ISOLATED = re.compile(r"<bdi>[^<]*</bdi>|href=\"[^\"]*\"|\u2068[^\u2069]*\u2069")


def leaks(page: str) -> list[str]:
    """What of the name is left once the isolated parts of `page` (and links, which are not
    shown) are taken out."""
    rest = ISOLATED.sub("", page)
    return [
        m.group() for m in re.finditer(r".{0,40}[\u202e\u0590-\u05ff\u0600-\u06ff].{0,40}", rest)
    ]


@pytest.fixture
def ticket(desk: SandboxServer, advocate: User) -> Ticket:
    handle = Handle.objects.get(username="Driftwood")
    (ticket,) = tickets_from(handle, remote_post(author=NAME, text="@Driftwood the site is down"))
    return ticket_assign(ticket=ticket, assignee=advocate, by=advocate)


def test_the_ticket_page_isolates_the_requesters_name(
    ticket: Ticket, client: Client, advocate: User
) -> None:
    client.force_login(advocate)
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f"<title>#{ticket.pk} @\u2068{NAME}\u2069 · mentiondesk</title>" in page
    assert f'rel="noopener noreferrer"><bdi>@{NAME}</bdi></a>' in page  # the header
    assert f"In reply to <bdi>@{NAME}</bdi>'s latest post" in page  # the composer
    assert leaks(page) == []


def test_the_queue_and_the_stream_isolate_the_name(
    ticket: Ticket, desk: SandboxServer, client: Client, advocate: User
) -> None:
    stream_handle = Handle.objects.get(username="MoveToDriftwood")
    tickets_from(stream_handle, remote_post(author=NAME, text="@MoveToDriftwood labels too?"))
    client.force_login(advocate)
    queue = client.get("/").content.decode()
    assert f'<span class="requester"><bdi>@{NAME}</bdi></span>' in queue
    assert leaks(queue) == []
    stream = client.get("/stream/").content.decode()
    assert f"<bdi>@{NAME}</bdi></a>" in stream
    assert f'placeholder="Reply to @\u2068{NAME}\u2069' in stream
    assert leaks(stream) == []
