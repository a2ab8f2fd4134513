"""Direct messages answering ours: the desk writes first (dm_create, sent by the outbox to the
sandbox), the requester answers in the sandbox, a poll brings the answer onto the ticket."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import DirectMessage, Handle, Post
from mentiondesk.intake import ingest
from mentiondesk.replies.models import Reply
from mentiondesk.replies.services import dm_create
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db

OnCommit = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]
ADDRESS = "Sure: 12 Quay Street, Bristol BS1 4DJ"


def poll(handle: Handle) -> ingest.IngestResult:
    result = ingest.handle_poll(handle=handle)
    assert result.error == ""
    return result


@pytest.fixture
def ticket(desk: SandboxServer, main_handle: Handle) -> Ticket:
    desk.store.mention_add("maya", "@Driftwood my sticker pack never arrived")
    poll(main_handle)
    return Ticket.objects.get()


@pytest.fixture
def dmed(
    desk: SandboxServer,
    ticket: Ticket,
    advocate: User,
    django_capture_on_commit_callbacks: OnCommit,
) -> Ticket:
    """`ticket`, after the desk DMed its requester (delivered to the sandbox) and went
    pending."""
    with django_capture_on_commit_callbacks(execute=True):
        dm_create(
            ticket=ticket,
            by=advocate,
            text="Could you send us your mailing address?",
            purpose="to send a replacement sticker pack",
        )
    assert Reply.objects.get(kind=Reply.Kind.DM).status == Reply.Status.SENT
    assert [e["text"] for e in desk.store.dms()] == ["Could you send us your mailing address?"]
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.PENDING)
    ticket.refresh_from_db()
    return ticket


def answer(desk: SandboxServer, username: str, text: str) -> dict[str, Any]:
    store = desk.store
    sender = store.user_by_username(username) or {"id": store.user_add(username)}
    return store.dm_add(sender["id"], store.user_by_username("Driftwood")["id"], text)


def dm_reads(desk: SandboxServer) -> int:
    return sum(1 for r in desk.store.request_log() if r.path == "/2/dm_events")


def test_the_requesters_answer_to_our_dm_comes_onto_the_ticket_as_a_follow_up(
    desk: SandboxServer, dmed: Ticket, main_handle: Handle, advocate: User
) -> None:
    event = answer(desk, "maya", ADDRESS)

    result = poll(main_handle)

    dm = DirectMessage.objects.get()
    assert (dm.remote_id, dm.ticket_id, dm.text) == (event["id"], dmed.pk, ADDRESS)
    assert dm.sender_username == "maya" and dm.handle == main_handle
    assert dm.conversation_id == event["dm_conversation_id"]
    assert result.follow_ups == 1
    dmed.refresh_from_db()
    assert dmed.status == Ticket.Status.OPEN, "a pending ticket goes open as on a follow-up"
    assert dmed.last_inbound_at == dm.created_at
    follow_up = dmed.events.get(kind=TicketEvent.Kind.FOLLOW_UP)
    assert follow_up.data == {"dm": event["id"]}
    assert ADDRESS not in follow_up.message, "the activity says a DM came, not what it says"
    # Private: never a public post (search, reports, triage, link previews read posts).
    assert not Post.objects.filter(text=ADDRESS).exists()

    client = Client()
    client.force_login(advocate)
    page = client.get(reverse("tickets:detail", args=[dmed.pk])).content.decode()
    article = page[page.index(f'data-dm-id="{event["id"]}"') :]
    article = article[: article.index("</article>")]
    assert "Direct message</span>" in article
    assert "12 Quay Street, Bristol BS1 4DJ" in article


def test_a_solved_ticket_reopens_on_the_requesters_dm(
    desk: SandboxServer, dmed: Ticket, main_handle: Handle
) -> None:
    Ticket.objects.filter(pk=dmed.pk).update(status=Ticket.Status.SOLVED)
    answer(desk, "maya", ADDRESS)

    poll(main_handle)

    dmed.refresh_from_db()
    assert dmed.status == Ticket.Status.OPEN and dmed.solved_at is None
    assert dmed.events.filter(kind=TicketEvent.Kind.REOPENED).count() == 1


def test_dms_of_conversations_we_did_not_open_store_nothing(
    desk: SandboxServer, dmed: Ticket, main_handle: Handle
) -> None:
    # omar has a ticket but was never DMed; noor has none at all.
    desk.store.mention_add("omar", "@Driftwood is the API down?")
    poll(main_handle)
    answer(desk, "omar", "hello? answering in private")
    answer(desk, "noor", "buy followers cheap")
    answer(desk, "maya", ADDRESS)

    result = poll(main_handle)

    assert [(dm.sender_username, dm.ticket_id) for dm in DirectMessage.objects.all()] == [
        ("maya", dmed.pk)
    ], "only the answer to the DM we sent"
    assert result.follow_ups == 1
    assert list(
        TicketEvent.objects.filter(data__has_key="dm").values_list("ticket", flat=True)
    ) == [dmed.pk]


def test_no_dm_read_while_the_desk_has_written_to_nobody(
    desk: SandboxServer, ticket: Ticket, main_handle: Handle
) -> None:
    answer(desk, "maya", "can I DM you?")
    poll(main_handle)
    assert dm_reads(desk) == 0
    assert DirectMessage.objects.count() == 0


def test_reading_twice_stores_once(desk: SandboxServer, dmed: Ticket, main_handle: Handle) -> None:
    answer(desk, "maya", ADDRESS)
    poll(main_handle)
    main_handle.refresh_from_db()
    checkpoint = main_handle.dm_since_id
    assert checkpoint

    # Read again from scratch (checkpoint lost): the event ids absorb what is read twice.
    Handle.objects.filter(pk=main_handle.pk).update(dm_since_id="")
    main_handle.refresh_from_db()
    result = poll(main_handle)

    assert result.follow_ups == 0
    assert DirectMessage.objects.count() == 1
    assert dmed.events.filter(kind=TicketEvent.Kind.FOLLOW_UP).count() == 1
    main_handle.refresh_from_db()
    assert main_handle.dm_since_id == checkpoint


def test_a_dm_read_cut_short_by_a_rate_limit_goes_on_where_it_stopped(
    desk: SandboxServer, dmed: Ticket, main_handle: Handle
) -> None:
    store = desk.store
    for n in range(150):
        answer(desk, "maya", f"line {n} of my address")
    # One DM read a second: the pass reads the newest page of 100, then X's window is spent.
    store.window = 1.0
    store.rate_limits["GET /2/dm_events"] = 1

    first = ingest.handle_poll(handle=main_handle)

    assert "rate" in first.error.lower() or "429" in first.error
    main_handle.refresh_from_db()
    assert main_handle.dm_resume_token and not main_handle.dm_since_id
    assert DirectMessage.objects.count() == 100
    time.sleep(2.1)  # past X's announced reset

    second = poll(main_handle)

    assert second.follow_ups == 50
    assert DirectMessage.objects.count() == 150
    assert dm_reads(desk) == 2, "the second pass went on from the page it stopped at"
    main_handle.refresh_from_db()
    assert main_handle.dm_resume_token == ""
    assert main_handle.dm_since_id == max((e["id"] for e in store.dms()), key=lambda i: (len(i), i))
