"""Automation with manners, as observed on real traffic: the surge reply, the status update
follow-up and the all-clear reach a requester once per incident phase, only while their
latest post is an unanswered, confidently labelled report ("confirmed fixed, thank you!" and a
30%-confidence label get nothing), assign nobody, and say they were automated."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from mentiondesk.actions import policy as policy_actions
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.audit import selectors as audit_selectors
from mentiondesk.channels.models import Post
from mentiondesk.incidents import services
from mentiondesk.incidents.models import Surge, SurgeTicket
from mentiondesk.intake import ingest as channel_services
from mentiondesk.policy.schema import PolicyError, policy_parse
from mentiondesk.replies import services as reply_services
from mentiondesk.replies.models import Reply
from mentiondesk.sandbox.statuspage import StatuspageServer
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets import services as ticket_services
from mentiondesk.tickets.models import Ticket, TicketEvent
from mentiondesk.triage.models import TriageResult
from tests.conftest import DESK_POLICY

SURGE_POLICY = DESK_POLICY + "\n[surge]\nthreshold = 3\nwindow_minutes = 10\n"
OUTAGES = (
    "@Driftwood is driftwood.dev down? every page gives 502",
    "@Driftwood site down for anyone else? can't load anything",
    "@Driftwood outage?? driftwood.dev not loading at all",
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def statuspage(settings: Any) -> Iterator[StatuspageServer]:
    with StatuspageServer() as server:
        settings.STATUSPAGE_URL = server.url
        settings.STATUSPAGE_TIMEOUT_SECONDS = 1.0
        settings.STATUSPAGE_CACHE_SECONDS = 0.0
        yield server


def ingest(capture: Any) -> None:
    """One poll; its after-commit work (triage, surge detection) runs too."""
    with capture(execute=True):
        results = channel_services.mentions_poll_all()
    assert not [r.error for r in results if r.error]


@pytest.fixture
def surge(
    desk: SandboxServer, statuspage: StatuspageServer, django_capture_on_commit_callbacks: Any
) -> Surge:
    """Three availability reports (user0..user2) grouped under an open incident card."""
    policy_actions.policy_apply_text(text=SURGE_POLICY, source="surge.toml")
    for i, text in enumerate(OUTAGES):
        desk.store.mention_add(f"user{i}", text)
    ingest(django_capture_on_commit_callbacks)
    (surge,) = services.surges_check()
    return surge


def ticket_of(username: str) -> Ticket:
    return Ticket.objects.get(requester_username=username)


def writes_again(desk: SandboxServer, capture: Any, username: str, text: str) -> None:
    """The requester answers our latest post on their ticket."""
    ours = Post.objects.filter(ticket=ticket_of(username), direction="out").latest("created_at")
    desk.store.mention_add(username, text, in_reply_to=ours.remote_id)
    ingest(capture)


def status_update_with_follow_up(
    by: User, text: str = "We're investigating 502s on driftwood.dev."
) -> Reply:
    update = reply_services.status_update_create(
        by=by,
        text=text,
        incident_url="https://status.driftwood.dev/incidents/7",
        follow_up_open_reports=True,
    )
    reply_services.reply_deliver(reply_id=update.pk)
    reply_services.status_update_follow_up(reply_id=update.pk)
    reply_services.outbox_drain()
    update.refresh_from_db()
    return update


def automated(ticket: Ticket) -> list[str]:
    return list(
        Reply.objects.filter(ticket=ticket, is_automated=True).values_list(
            "automation_phase", flat=True
        )
    )


def test_one_automated_message_per_ticket_and_phase(
    desk: SandboxServer,
    surge: Surge,
    infrastructure: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Observed: surge reply, status follow-up and all-clear to one requester within 90 s.
    A requester who writes "still down" after the incident reply gets no second "we know"."""
    capture = django_capture_on_commit_callbacks
    assert len(services.surge_reply_all(surge=surge, by=infrastructure).queued) == 3
    reply_services.outbox_drain()
    writes_again(desk, capture, "user0", "@DriftwoodStatus still down here, 502 everywhere")

    update = status_update_with_follow_up(infrastructure)
    ticket = ticket_of("user0")
    assert automated(ticket) == ["incident"]
    assert (
        "the incident message already went to this ticket"
        in (update.follow_up_skipped[str(ticket.pk)])
    )

    services.surge_resolve(surge=surge, by=infrastructure)
    reply_services.outbox_drain()
    # The all-clear is the other phase: it goes, once, to every grouped requester.
    for username in ("user0", "user1", "user2"):
        assert sorted(automated(ticket_of(username))) == ["incident", "resolved"]
    services.surge_resolve(surge=surge, by=None)
    assert Reply.objects.filter(automation_phase="resolved").count() == 3


def test_the_database_keeps_one_message_per_phase(surge: Surge, infrastructure: User) -> None:
    """Across processes: the constraint, not only the check, refuses a second one."""
    from django.db import IntegrityError, transaction

    services.surge_reply_all(surge=surge, by=infrastructure)
    reply = Reply.objects.filter(automation_phase="incident").first()
    assert reply is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        Reply.objects.create(
            ticket=reply.ticket,
            handle=reply.handle,
            text="again",
            is_automated=True,
            automation_phase="incident",
        )


def test_confirmed_fixed_gets_no_automated_question(
    desk: SandboxServer,
    surge: Surge,
    infrastructure: User,
    advocate: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Observed: "confirmed fixed, thank you!" asked whether they still had issues."""
    capture = django_capture_on_commit_callbacks
    desk.store.mention_add("user9", "@Driftwood is driftwood.dev down? 502 again")
    ingest(capture)
    # user9 got no incident reply yet; they write again before the status update goes out.
    ticket = ticket_of("user9")
    desk.store.mention_add(
        "user9",
        "@Driftwood confirmed fixed, thank you!",
        in_reply_to=ticket.posts.get().remote_id,
    )
    ingest(capture)

    update = status_update_with_follow_up(infrastructure)
    assert automated(ticket) == []
    assert "latest post is praise" in update.follow_up_skipped[str(ticket.pk)]

    # Nor the all-clear: the incident reply went out before they wrote "thank you".
    services.surge_reply_all(surge=surge, by=infrastructure)
    reply_services.outbox_drain()
    writes_again(desk, capture, "user1", "@DriftwoodStatus works now, confirmed fixed, thank you!")
    done = services.surge_resolve(surge=surge, by=infrastructure)
    assert done.status == "resolved"
    assert automated(ticket_of("user1")) == ["incident"]
    member = SurgeTicket.objects.get(ticket=ticket_of("user1"))
    assert "latest post is praise" in member.follow_up_skipped

    # A person can still answer them.
    reply = reply_services.reply_create(
        ticket=ticket, author=advocate, text="Glad it works!", reason="a quick thank-you"
    )
    assert reply.is_automated is False


def test_a_low_confidence_label_gets_nothing_until_a_person_confirms_it(
    desk: SandboxServer,
    surge: Surge,
    infrastructure: User,
    advocate: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Observed: a 30%-confidence "availability" label sent "still experiencing issues?" to
    an unrelated post."""
    desk.store.mention_add("nia", "@Driftwood the new dashboard colours are something")
    ingest(django_capture_on_commit_callbacks)
    ticket = ticket_of("nia")
    # What triage said of it on that day: availability, 30% sure.
    TriageResult.objects.filter(post__ticket=ticket).update(
        intent="availability", intent_confidence=0.3
    )
    Ticket.objects.filter(pk=ticket.pk).update(intent="availability")

    update = status_update_with_follow_up(infrastructure)
    assert automated(ticket) == []
    assert "triage is only 30% sure" in update.follow_up_skipped[str(ticket.pk)]
    assert "(the policy asks 80%)" in update.follow_up_skipped[str(ticket.pk)]
    client = Client()
    client.force_login(infrastructure)
    page = client.get("/status/").content.decode()
    assert "open report skipped" in page and "triage is only 30% sure" in page

    # A person's label counts as sure.
    ticket_actions.ticket_intent_set(ticket=ticket, intent="other", by=advocate)
    ticket_actions.ticket_intent_set(ticket=ticket, intent="availability", by=advocate)
    status_update_with_follow_up(infrastructure, "Still investigating the 502s.")
    assert automated(ticket) == ["incident"]


def test_the_threshold_is_the_policys(
    desk: SandboxServer, infrastructure: User, django_capture_on_commit_callbacks: Any
) -> None:
    policy_actions.policy_apply_text(
        text=DESK_POLICY + "\n[automation]\nmin_confidence = 0.25\n", source="low.toml"
    )
    desk.store.mention_add("nia", "@Driftwood the new dashboard colours are something")
    ingest(django_capture_on_commit_callbacks)
    ticket = ticket_of("nia")
    TriageResult.objects.filter(post__ticket=ticket).update(
        intent="availability", intent_confidence=0.3
    )
    Ticket.objects.filter(pk=ticket.pk).update(intent="availability")
    # [automation] min_confidence cannot go under [triage] act_above: a suggestion never sends.
    update = status_update_with_follow_up(infrastructure)
    assert automated(ticket) == []
    assert "(the policy asks 70%): a suggestion" in update.follow_up_skipped[str(ticket.pk)]

    policy_actions.policy_apply_text(
        text=DESK_POLICY + "\n[triage]\nact_above = 0.25\n\n[automation]\nmin_confidence = 0.25\n",
        source="lower.toml",
    )
    status_update_with_follow_up(infrastructure, "Still investigating the 502s.")
    assert automated(ticket) == ["incident"]


@pytest.mark.parametrize("value", ["1.5", "-0.1", "true", '"high"'])
def test_bad_min_confidence_is_refused(value: str) -> None:
    with pytest.raises(PolicyError, match="min_confidence: expected a number from 0 to 1"):
        policy_parse(text=f"[automation]\nmin_confidence = {value}\n", source="p.toml")
    assert policy_parse(text="", source="p.toml").automation.min_confidence == 0.8


def test_automated_messages_assign_nobody_and_say_they_are_automated(
    surge: Surge, infrastructure: User, advocate: User, lead: User
) -> None:
    """Observed: the bulk action assigned unassigned tickets to the person who pressed it."""
    held = ticket_services.ticket_next(user=advocate)
    assert held is not None
    services.surge_reply_all(surge=surge, by=infrastructure)
    reply_services.outbox_drain()
    assignees = dict(Ticket.objects.values_list("pk", "assignee_id"))
    assert assignees[held.pk] == advocate.pk
    assert [a for pk, a in assignees.items() if pk != held.pk] == [None, None]
    assert set(Ticket.objects.values_list("status", flat=True)) == {"pending"}

    events = TicketEvent.objects.filter(
        kind__in=(TicketEvent.Kind.REPLY_QUEUED, TicketEvent.Kind.REPLY_SENT)
    )
    assert events.count() == 6
    assert all(e.data["automated"] is True for e in events)
    assert all(r.is_automated for r in Reply.objects.all())
    audit = list(audit_selectors.audit_export(events=events, fmt="json"))
    assert '"automated": true' in "".join(audit)

    client = Client()
    client.force_login(lead)
    page = client.get(f"/tickets/{held.pk}/").content.decode()
    assert page.count("tag-automated") == 2  # queued and sent
    audit_page = client.get("/audit/").content.decode()
    assert "tag-automated" in audit_page

    # A person's reply is not marked, and takes an unassigned ticket as before.
    other = Ticket.objects.exclude(pk=held.pk).first()
    assert other is not None
    mine = reply_services.reply_create(
        ticket=other, author=lead, text="Following up myself", another_reply=True, reason="x"
    )
    other.refresh_from_db()
    assert not mine.is_automated and other.assignee == lead
    queued = TicketEvent.objects.get(kind=TicketEvent.Kind.REPLY_QUEUED, data__reply=mine.pk)
    assert "automated" not in queued.data


def test_the_api_says_why_a_ticket_was_skipped(
    desk: SandboxServer,
    surge: Surge,
    lead: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # user2 wrote again with thanks before anyone clicked.
    ticket = ticket_of("user2")
    desk.store.mention_add(
        "user2", "@Driftwood confirmed fixed, thank you!", in_reply_to=ticket.posts.get().remote_id
    )
    ingest(django_capture_on_commit_callbacks)
    _, token = account_services.token_create(user=lead)
    auth = {"Authorization": f"Bearer {token}"}
    response = Client().post(
        f"/api/v1/incidents/{surge.pk}/reply", {}, content_type="application/json", headers=auth
    )
    assert response.status_code == 200
    body = response.json()
    assert len(body["queued"]) == 2
    assert "latest post is praise" in body["skipped"][str(ticket.pk)]
    card = Client().get(f"/api/v1/incidents/{surge.pk}", headers=auth).json()
    (row,) = [t for t in card["tickets"] if t["ticket"] == ticket.pk]
    assert "latest post is praise" in row["reply_skipped"]
    assert Ticket.objects.get(pk=ticket.pk).assignee is None
