"""The HTML screens: queue, play mode, the ticket page and its forms, through Django's test
client against a real database and the sandbox network."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.models import Handle, Post
from mentiondesk.intake import ingest as channel_services
from mentiondesk.integrations.previews.models import LinkPreview
from mentiondesk.replies.models import Reply
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets import selectors, services
from mentiondesk.tickets.models import Ticket, TicketEvent
from tests.conftest import PASSWORD
from tests.factories import remote_post, tickets_from

pytestmark = pytest.mark.django_db

QUEUE = reverse("tickets:queue")
NEXT = reverse("tickets:next")


def ingest() -> None:
    results = channel_services.mentions_poll_all()
    assert not [r.error for r in results if r.error]


def detail_url(ticket: Ticket) -> str:
    return reverse("tickets:detail", args=[ticket.pk])


def html(response: Any) -> str:
    return response.content.decode()


def idempotency_key(page: str) -> str:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert match, "the composer carries an idempotency key"
    return match.group(1)


def replied_to(post: dict[str, Any]) -> str:
    return next(r["id"] for r in post.get("referenced_tweets", []) if r["type"] == "replied_to")


@pytest.fixture
def as_advocate(client: Client, advocate: User) -> Client:
    client.force_login(advocate)
    return client


@pytest.fixture
def conversation(desk: SandboxServer) -> tuple[Ticket, str]:
    """A ticket whose requester wrote twice in one conversation; the id of the latest post."""
    first = desk.store.mention_add("maya", "@Driftwood pushing to main fails with a 502")
    latest = desk.store.mention_add(
        "maya", "@Driftwood still failing, any news?", in_reply_to=first
    )
    ingest()
    return Ticket.objects.get(), latest


# Access


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("get", "tickets:queue", []),
        ("get", "tickets:detail", [1]),
        ("get", "tickets:activity", [1]),
        ("post", "tickets:next", []),
        ("post", "tickets:reply", [1]),
        ("post", "tickets:assign", [1]),
        ("post", "tickets:reassign", [1]),
        ("post", "tickets:status", [1]),
        ("post", "tickets:note", [1]),
    ],
)
def test_every_desk_page_requires_login(client: Client, method: str, name: str, args: list[int]):
    response = getattr(client, method)(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_login_page_signs_in_and_lands_on_the_queue(client: Client, advocate: User) -> None:
    page = client.get(reverse("accounts:login"))
    assert page.status_code == 200
    assert 'name="username"' in html(page) and "csrfmiddlewaretoken" in html(page)
    response = client.post(reverse("accounts:login"), {"username": "ana", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == QUEUE
    assert client.get(QUEUE).status_code == 200


def test_login_with_a_wrong_password_says_so(client: Client, advocate: User) -> None:
    response = client.post(reverse("accounts:login"), {"username": "ana", "password": "nope"})
    assert response.status_code == 200
    assert "enter a correct username and password" in html(response)


def test_logout_is_post_only(as_advocate: Client) -> None:
    assert as_advocate.get(reverse("accounts:logout")).status_code == 405
    response = as_advocate.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert as_advocate.get(QUEUE).status_code == 302


# Queue


def test_queue_lists_tickets_oldest_first(desk: SandboxServer, as_advocate: Client) -> None:
    now = datetime.now(UTC)
    desk.store.mention_add("newer", "@Driftwood hi", created_at=now - timedelta(minutes=12))
    desk.store.mention_add(
        "older", "@Driftwood help\nsecond line", created_at=now - timedelta(hours=3)
    )
    ingest()
    page = html(as_advocate.get(QUEUE))
    assert page.index("@older") < page.index("@newer")
    assert "@Driftwood help" in page
    assert 'hx-trigger="every 5s"' in page
    # The view's count is in the sidebar.
    assert re.search(r"Twitter</span>\s*<span class=\"count count-hot\">2</span>", page)


def test_queue_rows_partial_for_htmx_polling(desk: SandboxServer, as_advocate: Client) -> None:
    desk.store.mention_add("maya", "@Driftwood hello")
    ingest()
    response = as_advocate.get(QUEUE, {"view": "twitter"}, headers={"HX-Request": "true"})
    page = html(response)
    assert response.status_code == 200
    assert "<html" not in page and "@maya" in page
    assert 'id="view-nav"' in page and 'hx-swap-oob="true"' in page
    assert "HX-Request" in response["Vary"]
    # A boosted navigation is a whole page.
    boosted = as_advocate.get(QUEUE, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in html(boosted)


def test_queue_refresh_shows_a_ticket_created_after_the_page(
    desk: SandboxServer, as_advocate: Client
) -> None:
    """Arrival to screen (issue 21): the rows refresh every 5 s, and a refresh answers with a
    ticket the poll stored after the page was rendered."""
    page = html(as_advocate.get(QUEUE))
    refresh = re.search(r'id="ticket-rows"[^>]*hx-get="([^"]+)" hx-trigger="every 5s"', page)
    assert refresh, "the rows poll every 5 s"
    assert "@maya" not in page
    desk.store.mention_add("maya", "@Driftwood checkout is down")
    ingest()
    rows = html(
        as_advocate.get(refresh.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    )
    assert "<html" not in rows
    assert "@maya" in rows and "checkout is down" in rows


PULSE = reverse("tickets:pulse")


def pulse(client: Client, view: str = "twitter") -> int:
    response = client.get(PULSE, {"view": view})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    version: int = response.json()["version"]
    return version


def test_queue_pulse_moves_when_a_ticket_enters_the_view_and_not_otherwise(
    desk: SandboxServer, as_advocate: Client, lead: User
) -> None:
    """Arrival to screen (issue 21): the page asks the pulse each second and redraws its rows
    only when it moved."""
    assert pulse(as_advocate) == 0
    desk.store.mention_add("maya", "@Driftwood checkout is down")
    ingest()
    first = pulse(as_advocate)
    assert first == Ticket.objects.get(requester_username="maya").pk
    page = html(as_advocate.get(QUEUE, {"view": "twitter"}))
    assert f'data-pulse="{PULSE}?view=twitter" data-pulse-version="{first}"' in page
    # Nothing new: the same version, however often it is asked.
    assert pulse(as_advocate) == first

    desk.store.mention_add("zoe", "@Driftwood still down")
    ingest()
    second = pulse(as_advocate)
    assert second != first
    # Changes inside the view (taken, solved) are the 5 s refresh's: the pulse stays.
    zoe = Ticket.objects.get(requester_username="zoe")
    services.ticket_assign(ticket=zoe, assignee=lead, by=lead)
    maya = Ticket.objects.get(requester_username="maya")
    ticket_actions.ticket_status_set(ticket=maya, status=Ticket.Status.SOLVED, by=lead)
    assert pulse(as_advocate) == second
    # Another view's pulse moves with its own tickets only.
    assert pulse(as_advocate, "solved") == maya.pk
    desk.store.mention_add("ana", "@Driftwood hello")
    ingest()
    assert pulse(as_advocate, "solved") == maya.pk
    assert pulse(as_advocate) > second


def test_queue_pulse_looks_only_at_the_newest_tickets(
    main_handle: Handle, as_advocate: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sparse view's pulse does not walk the whole history back to its newest ticket: past
    the window it reads 0, and a new ticket in the view moves it all the same."""
    monkeypatch.setattr(selectors, "PULSE_WINDOW", 2)
    old, *_ = tickets_from(
        main_handle, *(remote_post(author=f"user{n}", minutes=n) for n in range(3))
    )
    Ticket.objects.filter(pk=old.pk).update(status=Ticket.Status.SOLVED)
    assert pulse(as_advocate, "solved") == 0
    assert pulse(as_advocate) == Ticket.objects.latest("pk").pk

    new, *_ = tickets_from(main_handle, remote_post(author="late", minutes=9))
    Ticket.objects.filter(pk=new.pk).update(status=Ticket.Status.SOLVED)
    assert pulse(as_advocate, "solved") == new.pk


def test_queue_pulse_needs_a_signed_in_person(client: Client) -> None:
    response = client.get(PULSE, {"view": "twitter"})
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_only_playable_views_carry_a_pulse(as_advocate: Client) -> None:
    assert "data-pulse=" in html(as_advocate.get(QUEUE, {"view": "twitter"}))
    assert "data-pulse=" not in html(as_advocate.get(QUEUE, {"view": "solved"}))
    # The rows' partial is redrawn inside the element that carries it.
    rows = html(as_advocate.get(QUEUE, {"view": "twitter"}, headers={"HX-Request": "true"}))
    assert "data-pulse=" not in rows


def test_queue_rows_draw_each_state_of_a_row(
    main_handle: Handle, as_advocate: Client, lead: User
) -> None:
    """The rows are drawn in Python (desk/tickets/rows.py) with the template's markup: who has
    a ticket, triage's intent acting or only suggested, and the link to the ticket."""
    taken, acting, suggested = tickets_from(
        main_handle,
        remote_post(author="taken"),
        remote_post(author="acting", minutes=1),
        remote_post(author="suggested", minutes=2),
    )
    services.ticket_assign(ticket=taken, assignee=lead, by=lead)
    Ticket.objects.filter(pk=acting.pk).update(intent="availability", intent_confidence=None)
    Ticket.objects.filter(pk=suggested.pk).update(intent="bug_report", intent_confidence=0.123)
    page = html(as_advocate.get(QUEUE, {"view": "all"}))

    def row(ticket: Ticket) -> str:
        match = re.search(rf'<tr class="[^"]*" data-ticket-id="{ticket.pk}">.*?</tr>', page, re.S)
        assert match, ticket
        return match.group(0)

    assert '<tr class="ticket-row" ' in row(taken)
    assert f'<td class="col-assignee">{lead.username}</td>' in row(taken)
    assert '<tr class="ticket-row is-unassigned" ' in row(acting)
    assert '<span class="muted">Unassigned</span>' in row(acting)
    assert '<span class="tag tag-amber">Availability</span>' in row(acting)
    assert 'data-suggested="bug_report"' in row(suggested)
    assert "suggested: bug report (12%)</span>" in row(suggested)
    assert f'href="{detail_url(suggested)}"' in row(suggested)


def test_queue_view_parameter_selects_the_view(main_handle: Handle, as_advocate: Client) -> None:
    solved, _ = tickets_from(
        main_handle, remote_post(author="solvedone"), remote_post(author="waiting", minutes=1)
    )
    Ticket.objects.filter(pk=solved.pk).update(status=Ticket.Status.SOLVED)
    page = html(as_advocate.get(QUEUE, {"view": "solved"}))
    assert "@solvedone" in page and "@waiting" not in page
    # An unknown view falls back to the default one.
    page = html(as_advocate.get(QUEUE, {"view": "bogus"}))
    assert "@waiting" in page and "@solvedone" not in page


def test_empty_queue_says_it_is_clear(desk: SandboxServer, as_advocate: Client) -> None:
    assert "Queue is clear" in html(as_advocate.get(QUEUE))
    response = as_advocate.post(NEXT, {"view": "twitter"}, follow=True)
    assert response.redirect_chain[-1][0] == f"{QUEUE}?view=twitter"
    assert "Queue is clear" in html(response)


def test_queue_page_query_count_does_not_grow_with_tickets(
    main_handle: Handle,
    as_advocate: Client,
    django_assert_max_num_queries: Any,
) -> None:
    tickets_from(
        main_handle,
        *(remote_post(author=f"user{i}", minutes=i) for i in range(50)),
    )
    Ticket.objects.filter(requester_username__in=["user1", "user2"]).update(
        assignee=User.objects.get(username="ana")
    )
    # Session, user, view counts, the rows (triage labels in subqueries), the policy, the
    # incident cards and the saved searches (none: one list query), and on the whole page the
    # pulse's version: a fixed number, whatever the number of tickets.
    with django_assert_max_num_queries(9):
        response = as_advocate.get(QUEUE)
    assert html(response).count('class="ticket-row') == 50
    with django_assert_max_num_queries(8):
        as_advocate.get(QUEUE, headers={"HX-Request": "true"})
    # The pulse, asked each second by every open queue page: session, user, the version.
    with django_assert_max_num_queries(3):
        as_advocate.get(PULSE, {"view": "twitter"})


# Play mode


def test_play_assigns_the_oldest_unassigned_ticket_and_opens_it(
    desk: SandboxServer, as_advocate: Client, advocate: User
) -> None:
    now = datetime.now(UTC)
    desk.store.mention_add("newer", "@Driftwood hi", created_at=now - timedelta(minutes=5))
    desk.store.mention_add("older", "@Driftwood help", created_at=now - timedelta(hours=1))
    ingest()
    older = Ticket.objects.get(requester_username="older")

    response = as_advocate.post(NEXT, {"view": "twitter"})
    assert response.status_code == 302 and response["Location"] == detail_url(older)
    older.refresh_from_db()
    assert older.assignee == advocate and older.status == Ticket.Status.OPEN

    response = as_advocate.post(NEXT)
    assert response["Location"] == detail_url(older), "no skipping: Play returns the held one"

    ticket_actions.ticket_status_set(ticket=older, status="solved", by=advocate)
    response = as_advocate.post(NEXT)
    newer = Ticket.objects.get(requester_username="newer")
    assert response["Location"] == detail_url(newer)


def test_play_refuses_light_agents_with_a_message(
    desk: SandboxServer, client: Client, light_agent: User
) -> None:
    desk.store.mention_add("maya", "@Driftwood hello")
    ingest()
    client.force_login(light_agent)
    response = client.post(NEXT, follow=True)
    assert "light agents" in html(response)
    assert Ticket.objects.get().assignee is None


# Ticket page


def test_ticket_page_shows_conversation_composer_and_events(
    conversation: tuple[Ticket, str], as_advocate: Client
) -> None:
    ticket, latest = conversation
    page = html(as_advocate.get(detail_url(ticket)))
    assert "pushing to main fails with a 502" in page and "still failing, any news?" in page
    assert f"https://x.com/maya/status/{latest}" in page
    assert 'id="composer"' in page
    assert 'Reply from <strong class="handle">@Driftwood</strong>' in page
    assert "The post mentioned @Driftwood." in page
    assert "Assign to me" in page
    assert "<strong>Created</strong>" in page
    assert 'name="idempotency_key"' in page


def test_ticket_page_reads_the_policy_once(
    conversation: tuple[Ticket, str], as_advocate: Client
) -> None:
    """The page's parts (reply handle, escalations, hand back, costs) each ask for the policy
    in force; the request looks it up once."""
    ticket, _ = conversation
    with CaptureQueriesContext(connection) as captured:
        assert as_advocate.get(detail_url(ticket)).status_code == 200
    reads = [q["sql"] for q in captured.captured_queries if "policy_policyversion" in q["sql"]]
    assert len(reads) == 1, reads


def test_ticket_page_shows_expanded_links_and_escapes_network_text(
    desk: SandboxServer, as_advocate: Client
) -> None:
    desk.store.mention_add(
        "mallory",
        "@Driftwood <script>alert(1)</script> see",
        expanded_urls=["https://docs.example.com/a/very/specific/page"],
    )
    ingest()
    page = html(as_advocate.get(detail_url(Ticket.objects.get())))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="https://docs.example.com/a/very/specific/page"' in page


def test_reply_form_queues_a_reply_threaded_to_the_latest_post(
    desk: SandboxServer,
    conversation: tuple[Ticket, str],
    as_advocate: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ticket, latest = conversation
    key = idempotency_key(html(as_advocate.get(detail_url(ticket))))
    # The test runs inside a transaction: run the after-commit enqueue by hand.
    with django_capture_on_commit_callbacks(execute=True):
        response = as_advocate.post(
            reverse("tickets:reply", args=[ticket.pk]),
            {
                "text": "Sorry Maya, we are on it.",
                "idempotency_key": key,
                "status_after": "pending",
            },
        )
    assert response.status_code == 302 and response["Location"] == detail_url(ticket)

    reply = Reply.objects.get()
    assert reply.status == Reply.Status.SENT  # the immediate task backend delivered it
    (posted,) = desk.store.posts(author="Driftwood")
    assert replied_to(posted) == latest
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING and ticket.first_response_at is not None

    page = html(as_advocate.get(detail_url(ticket)))
    assert "Reply queued from @Driftwood." in page
    assert f"https://x.com/Driftwood/status/{posted['id']}" in page
    assert "View the reply on X" in page


def test_send_and_solve_solves_the_ticket(
    conversation: tuple[Ticket, str], as_advocate: Client
) -> None:
    ticket, _ = conversation
    as_advocate.post(
        reverse("tickets:reply", args=[ticket.pk]),
        {"text": "Fixed now!", "idempotency_key": str(uuid.uuid4()), "status_after": "solved"},
    )
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.SOLVED


def test_double_submit_with_the_same_key_queues_one_reply(
    desk: SandboxServer,
    conversation: tuple[Ticket, str],
    as_advocate: Client,
    advocate2: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ticket, _ = conversation
    form = {"text": "On it!", "idempotency_key": str(uuid.uuid4()), "status_after": "pending"}
    url = reverse("tickets:reply", args=[ticket.pk])
    other = Client()
    other.force_login(advocate2)
    with django_capture_on_commit_callbacks(execute=True):
        first = as_advocate.post(url, form)
        second = as_advocate.post(url, form)
        # A second tab (another session of the same form) sends the same key too.
        third = other.post(url, form)
    assert [r.status_code for r in (first, second, third)] == [302, 302, 302]
    assert Reply.objects.count() == 1
    assert len(desk.store.posts(author="Driftwood")) == 1


def test_reply_errors_are_shown_next_to_the_form(
    conversation: tuple[Ticket, str], as_advocate: Client
) -> None:
    ticket, _ = conversation
    key = str(uuid.uuid4())
    response = as_advocate.post(
        reverse("tickets:reply", args=[ticket.pk]),
        {"text": "x" * 281, "idempotency_key": key, "status_after": "pending"},
    )
    assert response.status_code == 400
    page = html(response)
    assert "X allows 280" in page
    assert key in page  # the same form, ready to fix and send again
    assert Reply.objects.count() == 0

    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.CLOSED)
    response = as_advocate.post(
        reverse("tickets:reply", args=[ticket.pk]),
        {"text": "hello", "idempotency_key": key},
    )
    assert response.status_code == 409 and "is closed" in html(response)


def test_light_agent_sees_no_composer_and_cannot_reply(
    desk: SandboxServer, conversation: tuple[Ticket, str], client: Client, light_agent: User
) -> None:
    ticket, _ = conversation
    client.force_login(light_agent)
    page = html(client.get(detail_url(ticket)))
    assert 'id="composer"' not in page and 'id="reply-text"' not in page
    assert reverse("tickets:note", args=[ticket.pk]) in page
    assert "Assign to me" not in page

    response = client.post(
        reverse("tickets:reply", args=[ticket.pk]),
        {"text": "I should not", "idempotency_key": str(uuid.uuid4())},
    )
    assert response.status_code == 403
    assert "light agents cannot reply" in html(response)
    assert Reply.objects.count() == 0
    assert desk.store.posts(author="Driftwood") == []


def test_light_agent_adds_an_internal_note(
    conversation: tuple[Ticket, str], client: Client, light_agent: User
) -> None:
    ticket, _ = conversation
    client.force_login(light_agent)
    response = client.post(
        reverse("tickets:note", args=[ticket.pk]), {"text": "Customer is on the beta."}
    )
    assert response.status_code == 302
    note = ticket.events.get(kind=TicketEvent.Kind.NOTE)
    assert note.message == "Customer is on the beta." and note.actor == light_agent
    assert "Customer is on the beta." in html(client.get(detail_url(ticket)))


def test_empty_note_is_refused_next_to_the_form(
    conversation: tuple[Ticket, str], as_advocate: Client
) -> None:
    ticket, _ = conversation
    response = as_advocate.post(reverse("tickets:note", args=[ticket.pk]), {"text": "   "})
    assert response.status_code == 400
    assert "This field is required." in html(response)


def test_assign_to_me_then_nobody_else_can_take_it(
    conversation: tuple[Ticket, str], as_advocate: Client, advocate: User, advocate2: User
) -> None:
    ticket, _ = conversation
    response = as_advocate.post(reverse("tickets:assign", args=[ticket.pk]))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == advocate

    other = Client()
    other.force_login(advocate2)
    response = other.post(reverse("tickets:assign", args=[ticket.pk]))
    assert response.status_code == 409
    assert "already assigned to ana" in html(response)


def test_only_leads_see_and_use_reassign(
    conversation: tuple[Ticket, str],
    as_advocate: Client,
    client: Client,
    advocate: User,
    advocate2: User,
    lead: User,
) -> None:
    ticket, _ = conversation
    url = reverse("tickets:reassign", args=[ticket.pk])
    assert url not in html(as_advocate.get(detail_url(ticket)))
    response = as_advocate.post(url, {"assignee": advocate2.pk})
    assert response.status_code == 403 and "only leads" in html(response)

    lead_client = Client()
    lead_client.force_login(lead)
    assert url in html(lead_client.get(detail_url(ticket)))
    assert lead_client.post(url, {"assignee": advocate2.pk}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == advocate2
    assert lead_client.post(url, {"assignee": ""}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_status_change(conversation: tuple[Ticket, str], as_advocate: Client) -> None:
    ticket, _ = conversation
    url = reverse("tickets:status", args=[ticket.pk])
    response = as_advocate.post(url, {"status": "solved"}, follow=True)
    assert "is solved" in html(response)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.SOLVED
    assert as_advocate.post(url, {"status": "closed"}).status_code == 400


def test_activity_partial_polls_while_a_reply_is_in_flight(
    conversation: tuple[Ticket, str], as_advocate: Client, advocate: User
) -> None:
    ticket, _ = conversation
    Reply.objects.create(
        ticket=ticket, handle=ticket.handle, author=advocate, text="Queued one", status="queued"
    )
    response = as_advocate.get(
        reverse("tickets:activity", args=[ticket.pk]), headers={"HX-Request": "true"}
    )
    page = html(response)
    assert "<html" not in page
    assert 'hx-trigger="every 2s"' in page and "Queued one" in page
    assert 'id="ticket-events" hx-swap-oob="true"' in page
    assert 'id="ticket-head" hx-swap-oob="true"' in page
    card = re.search(
        r'<section[^>]*id="requester-card" hx-swap-oob="true".*?</section>', page, re.S
    )
    assert card is not None and "Never answered yet" in card.group()

    Reply.objects.update(status="needs_attention", reason="X refused: duplicate content")
    page = html(as_advocate.get(reverse("tickets:activity", args=[ticket.pk])))
    assert 'hx-trigger="every 30s"' in page
    assert "X refused: duplicate content" in page

    # Answered (here from another client): the requester card says so without a reload.
    inbound = ticket.posts.order_by("-created_at", "-remote_id").first()
    assert inbound is not None
    Post.objects.create(
        network=ticket.network,
        remote_id=str(int(inbound.remote_id) + 1),
        handle=ticket.handle,
        ticket=ticket,
        direction=Post.Direction.OUTBOUND,
        author_remote_id=ticket.handle.remote_id,
        author_username=ticket.handle.username,
        text="@maya on it",
        created_at=inbound.created_at,
        conversation_id=ticket.conversation_id,
    )
    page = html(
        as_advocate.get(
            reverse("tickets:activity", args=[ticket.pk]), headers={"HX-Request": "true"}
        )
    )
    card = re.search(
        r'<section[^>]*id="requester-card" hx-swap-oob="true".*?</section>', page, re.S
    )
    assert card is not None and "Last answered" in card.group()


def test_missing_ticket_is_404(as_advocate: Client) -> None:
    assert as_advocate.get(reverse("tickets:detail", args=[999])).status_code == 404
    assert as_advocate.post(reverse("tickets:note", args=[999]), {"text": "x"}).status_code == 404


def test_my_tickets_lists_the_viewers_unfinished_tickets_oldest_first(
    main_handle: Handle, as_advocate: Client, advocate: User, advocate2: User, lead: User
) -> None:
    waiting, mine, theirs, done, _free = tickets_from(
        main_handle,
        *(
            remote_post(author=name, minutes=i)
            for i, name in enumerate(("waiting", "mine", "theirs", "done", "free"))
        ),
    )
    for ticket, who in (
        (waiting, advocate),
        (mine, advocate),
        (theirs, advocate2),
        (done, advocate),
    ):
        services.ticket_assign(ticket=ticket, assignee=who, by=lead)
    ticket_actions.ticket_status_set(ticket=waiting, status=Ticket.Status.PENDING, by=advocate)
    ticket_actions.ticket_status_set(ticket=done, status=Ticket.Status.SOLVED, by=advocate)

    page = html(as_advocate.get(QUEUE, {"view": "mine"}))
    assert "<h1>My tickets</h1>" in page
    shown = re.findall(r"@(waiting|mine|theirs|done|free)\b", page)
    assert shown == ["waiting", "mine"]
    # The sidebar links it with the viewer's own count.
    assert re.search(
        r'href="/\?view=mine"[^>]*aria-current="page">\s*<span>My tickets</span>\s*'
        r'<span class="count">2</span>',
        page,
    )
    as_advocate.force_login(advocate2)
    assert re.findall(
        r"@(waiting|mine|theirs|done|free)\b", html(as_advocate.get(QUEUE, {"view": "mine"}))
    ) == ["theirs"]


def test_ticket_page_shows_the_requesters_card_in_the_same_queries_however_many_tickets(
    main_handle: Handle, as_advocate: Client
) -> None:
    first, _other, current = tickets_from(
        main_handle,
        remote_post(author="maya", author_id="77", text="@Driftwood <b>first</b> question"),
        remote_post(author="maya", author_id="77", text="@Driftwood still stuck", minutes=30),
        remote_post(author="omar", text="@Driftwood not maya", minutes=1),
    )
    # Our answer to the first ticket, as the desk stores a sent reply.
    Post.objects.create(
        network=first.network,
        remote_id="9001",
        handle=main_handle,
        ticket=first,
        direction=Post.Direction.OUTBOUND,
        author_remote_id="100",
        author_username="Driftwood",
        text="@maya try this",
        created_at=first.created_at + timedelta(minutes=5),
        conversation_id=first.conversation_id,
    )

    def card() -> tuple[str, int]:
        with CaptureQueriesContext(connection) as captured:
            response = as_advocate.get(detail_url(current))
        page = html(response)
        start = page.index('id="requester-card"')
        return page[start : page.index("</section>", start)], len(captured.captured_queries)

    text, queries = card()
    assert "@maya</bdi> · 2 tickets" in text
    assert 'datetime="2026-11-20T09:05' in text and "Last answered" in text
    assert re.findall(r'data-earlier-ticket="(\d+)"', text) == [str(first.pk)]
    assert f'href="{detail_url(first)}"' in text and "&lt;b&gt;first&lt;/b&gt;" in text
    assert "not maya" not in text

    tickets_from(
        main_handle,
        *(
            remote_post(author="maya", author_id="77", text=f"@Driftwood again {i}", minutes=i)
            for i in range(6)
        ),
    )
    text, more_queries = card()
    assert "@maya</bdi> · 8 tickets" in text
    assert len(re.findall(r"data-earlier-ticket=", text)) == 5
    assert more_queries == queries


# Link previews


def test_a_post_shows_where_its_links_lead_escaped_and_only_for_pages_fetched(
    desk: SandboxServer, as_advocate: Client
) -> None:
    page_url, broken_url = "https://docs.example.com/runners", "https://gone.example.com/x"
    desk.store.mention_add(
        "maya", "@Driftwood is this still right?", expanded_urls=[page_url, broken_url]
    )
    ingest()
    ticket = Ticket.objects.get()
    # What the worker stored for them (integrations/previews): a page's own words, untrusted.
    fetched_at = datetime.now(UTC)
    LinkPreview.objects.create(
        url=page_url,
        final_url=page_url,
        domain="docs.example.com",
        title='Runners <img src=x onerror="alert(1)">',
        description="How to register a runner",
        status=LinkPreview.Status.OK,
        fetched_at=fetched_at,
    )
    LinkPreview.objects.create(
        url=broken_url,
        status=LinkPreview.Status.FAILED,
        error="failed: the site answered HTTP 404",
        fetched_at=fetched_at,
    )

    page = html(as_advocate.get(detail_url(ticket)))

    previews = page[page.index('<ul class="link-previews"') :]
    previews = previews[: previews.index("</ul>")]
    assert previews.count('class="link-preview"') == 1
    assert f'data-preview-url="{page_url}"' in previews
    assert '<span class="link-preview-site">docs.example.com</span>' in previews
    assert "Runners &lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in previews
    assert "<img" not in previews
    assert "How to register a runner" in previews
    assert broken_url not in previews, "a page not fetched has no preview"
