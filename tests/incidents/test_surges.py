"""Outage surges against the sandbox network and a local status page: availability reports
grouped at the policy's threshold, one click answering each grouped ticket exactly once
(threaded, from the handle the clicker may use), the follow-up once the incident is
resolved, and who may do it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.actions import policy as policy_actions
from mentiondesk.channels.models import Handle
from mentiondesk.core.errors import Conflict, DomainError, Forbidden
from mentiondesk.incidents import services
from mentiondesk.incidents.models import Surge, SurgeTicket
from mentiondesk.intake import ingest as channel_services
from mentiondesk.policy.schema import PolicyError
from mentiondesk.replies import services as reply_services
from mentiondesk.replies.models import Reply
from mentiondesk.sandbox.statuspage import StatuspageServer
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets import services as ticket_services
from mentiondesk.tickets.models import Ticket, TicketEvent
from tests.conftest import DESK_POLICY
from tests.factories import BASE_TIME, remote_post, tickets_from

SURGE_POLICY = DESK_POLICY + "\n[surge]\nthreshold = 3\nwindow_minutes = 10\n"
OUTAGES = (
    "@Driftwood is driftwood.dev down? every page gives 502",
    "@Driftwood site down for anyone else? can't load anything",
    "@Driftwood outage?? driftwood.dev not loading at all",
    "@DriftwoodStatus driftwood.dev is down again, 503 everywhere",
)


@pytest.fixture
def statuspage(settings: Any) -> Iterator[StatuspageServer]:
    with StatuspageServer() as server:
        settings.STATUSPAGE_URL = server.url
        settings.STATUSPAGE_TIMEOUT_SECONDS = 1.0
        # Every check asks the page: resolution is seen at once.
        settings.STATUSPAGE_CACHE_SECONDS = 0.0
        yield server


@pytest.fixture
def surge_desk(desk: SandboxServer) -> SandboxServer:
    policy_actions.policy_apply_text(text=SURGE_POLICY, source="surge.toml")
    return desk


def ingest(capture: Any) -> None:
    """One poll; its after-commit work (triage, surge detection, evidence) runs too."""
    with capture(execute=True):
        results = channel_services.mentions_poll_all()
    assert not [r.error for r in results if r.error]


def report(desk: SandboxServer, n: int) -> list[str]:
    return [desk.store.mention_add(f"user{i}", OUTAGES[i % len(OUTAGES)]) for i in range(n)]


def replies_to(desk: SandboxServer, author: str) -> dict[str, int]:
    """How many of `author`'s posts answer each post id."""
    counts: dict[str, int] = {}
    for post in desk.store.posts(author=author):
        for ref in post.get("referenced_tweets") or []:
            if ref["type"] == "replied_to":
                counts[ref["id"]] = counts.get(ref["id"], 0) + 1
    return counts


# Grouping


@pytest.mark.django_db
def test_no_surge_below_the_threshold_then_one_card_at_it(
    surge_desk: SandboxServer, django_capture_on_commit_callbacks: Any
) -> None:
    report(surge_desk, 2)
    ingest(django_capture_on_commit_callbacks)
    assert Ticket.objects.filter(intent="availability").count() == 2
    assert not Surge.objects.exists()

    surge_desk.store.mention_add("user9", "@Driftwood is driftwood.dev down? 502 on every page")
    ingest(django_capture_on_commit_callbacks)
    surge = Surge.objects.get()
    assert (surge.status, surge.threshold, surge.window_minutes) == ("open", 3, 10)
    assert surge.members.count() == 3
    grouped = TicketEvent.objects.filter(kind=TicketEvent.Kind.SURGE_GROUPED)
    assert grouped.count() == 3

    # A later report joins the open card instead of opening another.
    surge_desk.store.mention_add("user10", "@Driftwood still down here, 502")
    ingest(django_capture_on_commit_callbacks)
    assert Surge.objects.get().members.count() == 4


@pytest.mark.django_db
def test_the_window_counts_reports_within_m_minutes_only(main_handle: Handle) -> None:
    policy_actions.policy_apply_text(text=SURGE_POLICY, source="surge.toml")
    tickets = tickets_from(
        main_handle,
        *(
            remote_post(author=f"u{i}", text=OUTAGES[0], minutes=m)
            for i, m in enumerate((0, 11, 12))
        ),
    )
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(intent="availability")
    # Three reports, but only two within ten minutes of 09:12.
    assert services.surge_detect(now=BASE_TIME + timedelta(minutes=12)) is None
    # Another one in the window makes three.
    (late,) = tickets_from(main_handle, remote_post(author="u9", text=OUTAGES[1], minutes=14))
    Ticket.objects.filter(pk=late.pk).update(intent="availability")
    surge = services.surge_detect(now=BASE_TIME + timedelta(minutes=14))
    assert surge is not None
    assert sorted(surge.members.values_list("ticket_id", flat=True)) == sorted(
        [t.pk for t in tickets[1:]] + [late.pk]
    )
    # Detection again groups nobody twice.
    assert services.surge_detect(now=BASE_TIME + timedelta(minutes=15)) == surge
    assert SurgeTicket.objects.count() == 3


@pytest.mark.django_db
def test_threshold_zero_turns_surges_off(main_handle: Handle) -> None:
    policy_actions.policy_apply_text(
        text=DESK_POLICY + "\n[surge]\nthreshold = 0\n", source="off.toml"
    )
    tickets_from(main_handle, *(remote_post(author=f"u{i}", minutes=i) for i in range(5)))
    Ticket.objects.update(intent="availability")
    assert services.surge_detect(now=BASE_TIME + timedelta(minutes=5)) is None


@pytest.mark.parametrize(
    ("section", "error"),
    [
        ("threshold = -1", "surge.threshold: expected a whole number >= 0, got -1"),
        ("threshold = true", "surge.threshold: expected a whole number >= 0, got True"),
        ("window_minutes = 0", "surge.window_minutes: expected a whole number >= 1, got 0"),
        ('reply_roles = ["boss"]', "surge.reply_roles: 'boss' is not one of"),
        ('reply_text = "we are on it {incident_url}"', "surge.reply_text: must name {requester}"),
        ('resolved_text = "@{requester} {eta}"', "surge.resolved_text: unknown variable {eta}"),
        (
            'reply_text = "@{requester:>999999999} {incident_url}"',
            "surge.reply_text: {requester:>999999999}: only a plain variable is allowed",
        ),
        (
            'resolved_text = "@{requester.__class__}"',
            "surge.resolved_text: {requester.__class__}: only a plain variable is allowed",
        ),
        # A doubled brace is a literal one: this text names nobody.
        ('reply_text = "@{{requester}} {incident_url}"', "must name {requester}"),
        ("cooldown = 5", "surge: unknown key 'cooldown'"),
    ],
)
def test_bad_surge_settings_are_refused_precisely(section: str, error: str) -> None:
    from mentiondesk.policy.schema import policy_parse

    with pytest.raises(PolicyError) as exc:
        policy_parse(text=f"[surge]\n{section}\n", source="team.toml")
    assert exc.value.message.startswith("team.toml: ")
    assert error in exc.value.message


# One click


@pytest.fixture
def open_surge(
    surge_desk: SandboxServer, statuspage: StatuspageServer, django_capture_on_commit_callbacks: Any
) -> Surge:
    report(surge_desk, 3)
    ingest(django_capture_on_commit_callbacks)
    (surge,) = services.surges_check()
    return surge


@pytest.mark.django_db
def test_the_card_links_the_status_pages_open_incident(open_surge: Surge) -> None:
    assert open_surge.incident_url == "https://stspg.io/dw4kq81"  # the worst impact first
    assert open_surge.incident_title == "Jobs stuck in pending on shared runners"
    assert open_surge.incident_status == "identified"


@pytest.mark.django_db
def test_one_click_sends_one_threaded_reply_per_ticket_even_when_clicked_twice(
    surge_desk: SandboxServer, open_surge: Surge, infrastructure: User
) -> None:
    first = services.surge_reply_all(surge=open_surge, by=infrastructure)
    second = services.surge_reply_all(surge=open_surge, by=infrastructure)
    assert len(first.queued) == 3 and not first.skipped
    assert (second.queued, sorted(second.already)) == ([], sorted(first.queued))
    reply_services.outbox_drain()
    reply_services.outbox_drain()
    assert Reply.objects.count() == 3
    assert set(Reply.objects.values_list("status", flat=True)) == {Reply.Status.SENT}

    # The reports mention @Driftwood only: on X's self-serve plan (the default) the status
    # handle may not reply to them, so infrastructure answers from @Driftwood, each reply
    # threaded to its own requester's post, exactly once.
    counts = replies_to(surge_desk, "Driftwood")
    latest = {t.pk: t.posts.get(direction="in").remote_id for t in Ticket.objects.all()}
    assert counts == dict.fromkeys(latest.values(), 1)
    for reply in Reply.objects.select_related("ticket"):
        # X shows the link as t.co; what we sent carries the incident's own link.
        assert reply.text.startswith(f"@{reply.ticket.requester_username} ")
        assert "https://stspg.io/dw4kq81" in reply.text
    texts = [p["text"] for p in surge_desk.store.posts(author="Driftwood")]
    assert len(set(texts)) == 3, "each reply names its requester: X refuses duplicates"
    open_surge.refresh_from_db()
    assert open_surge.replied_by == infrastructure


@pytest.mark.django_db
def test_a_lead_replies_from_the_main_handle(
    surge_desk: SandboxServer, open_surge: Surge, lead: User
) -> None:
    services.surge_reply_all(surge=open_surge, by=lead)
    reply_services.outbox_drain()
    assert {r.handle.username for r in Reply.objects.select_related("handle")} == {"Driftwood"}
    assert len(replies_to(surge_desk, "Driftwood")) == 3
    assert not surge_desk.store.posts(author="DriftwoodStatus")


@pytest.mark.django_db
def test_rate_limited_replies_wait_and_still_go_out_once(
    surge_desk: SandboxServer, open_surge: Surge, lead: User
) -> None:
    surge_desk.store.fault_add("POST", "/2/tweets", kind="status", status=429, reset_in=120)
    services.surge_reply_all(surge=open_surge, by=lead)
    reply_services.outbox_drain()
    # X said 429 on the first send: nothing more is tried before the reset.
    assert Reply.objects.filter(status=Reply.Status.SENT).count() == 0
    assert Reply.objects.filter(status=Reply.Status.QUEUED).count() == 3
    Reply.objects.update(not_before=timezone.now() - timedelta(seconds=1))
    from mentiondesk.channels.connectors.ratelimits import rate_limits_clear
    from mentiondesk.channels.models import RateLimitWindow

    # The reset time has come, for this process and for the shared book.
    rate_limits_clear()
    RateLimitWindow.objects.update(reset_at=timezone.now() - timedelta(seconds=1))
    services.surge_reply_all(surge=open_surge, by=lead)
    reply_services.outbox_drain()
    assert Reply.objects.filter(status=Reply.Status.SENT).count() == 3
    assert sorted(replies_to(surge_desk, "Driftwood").values()) == [1, 1, 1]


@pytest.mark.django_db
def test_a_ticket_someone_already_answered_is_skipped_with_the_reason(
    surge_desk: SandboxServer, open_surge: Surge, advocate: User, lead: User
) -> None:
    answered = Ticket.objects.order_by("pk").first()
    assert answered is not None
    reply_services.reply_create(ticket=answered, author=advocate, text="Looking into it!")
    done = services.surge_reply_all(surge=open_surge, by=lead)
    assert len(done.queued) == 2
    assert "ana's reply to this post is already on its way" in done.skipped[answered.pk]
    member = SurgeTicket.objects.get(ticket=answered)
    assert member.reply is None and "already on its way" in member.reply_skipped


@pytest.mark.django_db
def test_the_incident_reply_is_no_take_of_tickets_others_hold(
    open_surge: Surge, advocate: User, infrastructure: User
) -> None:
    """Sent for the team: it crosses nobody's ticket and skips no queue (no reason asked)."""
    held = ticket_services.ticket_next(user=advocate)
    assert held is not None
    done = services.surge_reply_all(surge=open_surge, by=infrastructure)
    assert len(done.queued) == 3 and not done.skipped
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.TAKEN_OUT_OF_ORDER).exists()


@pytest.mark.django_db
def test_who_may_click(open_surge: Surge, advocate: User, light_agent: User, lead: User) -> None:
    for user in (advocate, light_agent):
        with pytest.raises(Forbidden, match="only lead and infrastructure users"):
            services.surge_reply_all(surge=open_surge, by=user)
        with pytest.raises(Forbidden, match="only lead and infrastructure users"):
            services.surge_resolve(surge=open_surge, by=user)
    assert not Reply.objects.exists()
    open_surge.refresh_from_db()
    assert open_surge.status == Surge.Status.OPEN


@pytest.mark.django_db
def test_without_an_incident_the_click_needs_a_link(
    surge_desk: SandboxServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    lead: User,
) -> None:
    settings.STATUSPAGE_URL = ""
    report(surge_desk, 3)
    ingest(django_capture_on_commit_callbacks)
    (surge,) = services.surges_check()
    assert surge.incident_url == ""
    with pytest.raises(DomainError, match="no incident link yet") as exc:
        services.surge_reply_all(surge=surge, by=lead)
    assert exc.value.field == "incident_url"
    with pytest.raises(DomainError, match="http"):
        services.surge_reply_all(surge=surge, by=lead, incident_url="javascript:alert(1)")
    done = services.surge_reply_all(surge=surge, by=lead, incident_url="https://status.dw/i/1")
    assert len(done.queued) == 3
    assert all("https://status.dw/i/1" in r.text for r in Reply.objects.all())


# Resolution


@pytest.mark.django_db
def test_the_status_page_resolving_the_incident_sends_one_follow_up_each(
    surge_desk: SandboxServer,
    statuspage: StatuspageServer,
    open_surge: Surge,
    infrastructure: User,
) -> None:
    services.surge_reply_all(surge=open_surge, by=infrastructure)
    reply_services.outbox_drain()
    services.surges_check()
    assert Surge.objects.get().status == Surge.Status.OPEN, "the incident is still open"

    statuspage.incidents_clear()
    services.surges_check()
    services.surges_check()
    surge = Surge.objects.get()
    assert (surge.status, surge.resolved_source, surge.resolved_by) == (
        "resolved",
        "statuspage",
        None,
    )
    reply_services.outbox_drain()
    follow_ups = Reply.objects.filter(idempotency_key__contains="-resolved-")
    assert follow_ups.count() == 3
    assert set(follow_ups.values_list("status", flat=True)) == {Reply.Status.SENT}
    # Two posts per requester's post now: the incident reply and the all-clear, threaded.
    assert sorted(replies_to(surge_desk, "Driftwood").values()) == [2, 2, 2]
    assert set(Ticket.objects.values_list("status", flat=True)) == {Ticket.Status.SOLVED}
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.SURGE_RESOLVED).count() == 3

    # Resolved twice (a lead too): nothing more goes out.
    services.surge_resolve(surge=surge, by=None)
    with pytest.raises(Conflict, match="resolved"):
        services.surge_reply_all(surge=surge, by=infrastructure)
    services.surge_follow_up(surge=surge)
    reply_services.outbox_drain()
    assert Reply.objects.count() == 6


@pytest.mark.django_db
def test_a_lead_marks_it_resolved_and_the_follow_up_goes_once(
    surge_desk: SandboxServer, open_surge: Surge, lead: User
) -> None:
    services.surge_reply_all(surge=open_surge, by=lead)
    reply_services.outbox_drain()
    services.surge_resolve(surge=open_surge, by=lead)
    services.surge_resolve(surge=open_surge, by=lead)
    reply_services.outbox_drain()
    assert sorted(replies_to(surge_desk, "Driftwood").values()) == [2, 2, 2]
    resolved = TicketEvent.objects.filter(kind=TicketEvent.Kind.SURGE_RESOLVED)
    assert resolved.count() == 3 and {e.actor for e in resolved} == {lead}


# API and the queue


@pytest.mark.django_db
def test_the_api_lists_cards_and_replies_once(
    surge_desk: SandboxServer, open_surge: Surge, lead: User, advocate: User
) -> None:
    from mentiondesk.accounts import services as account_services

    client = Client()
    _, token = account_services.token_create(user=lead)
    auth = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/incidents?status=open", headers=auth).json()
    assert [c["id"] for c in listed] == [open_surge.pk]
    assert listed[0]["incident_url"] == "https://stspg.io/dw4kq81"
    assert len(listed[0]["tickets"]) == 3

    url = f"/api/v1/incidents/{open_surge.pk}/reply"
    first = client.post(url, {}, content_type="application/json", headers=auth)
    again = client.post(url, {}, content_type="application/json", headers=auth)
    assert first.status_code == again.status_code == 200
    assert len(first.json()["queued"]) == 3 and again.json()["queued"] == []
    assert len(again.json()["already"]) == 3
    assert Reply.objects.count() == 3

    refused = client.post(
        f"/api/v1/incidents/{open_surge.pk}/resolve",
        headers={"Authorization": f"Bearer {account_services.token_create(user=advocate)[1]}"},
    )
    assert refused.status_code == 403 and "only lead and infrastructure" in refused.json()["detail"]
    resolved = client.post(f"/api/v1/incidents/{open_surge.pk}/resolve", headers=auth)
    assert resolved.status_code == 200
    body = resolved.json()
    assert (body["status"], body["resolved_by"], body["resolved_source"]) == (
        "resolved",
        "lee",
        "person",
    )
    assert all(t["follow_up"] for t in body["tickets"])
    assert client.get("/api/v1/incidents/999", headers=auth).status_code == 404


@pytest.mark.django_db
def test_the_queue_shows_the_card_and_its_buttons_by_role(
    open_surge: Surge, lead: User, advocate: User
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(advocate)
    page = client.get("/").content.decode()
    assert f'data-surge-id="{open_surge.pk}"' in page
    assert 'href="https://stspg.io/dw4kq81"' in page
    assert "Only lead and infrastructure users answer an incident&#x27;s reports." in page
    assert "Reply to 3 with the incident link" not in page

    client.force_login(lead)
    page = client.get("/").content.decode()
    assert "Reply to 3 with the incident link" in page
    # The stream column shows the card too.
    stream = client.get("/stream/").content.decode()
    assert f'data-surge-id="{open_surge.pk}"' in stream
    # Without the CSRF token the click is refused.
    assert client.post(f"/incidents/{open_surge.pk}/reply").status_code == 403
    assert not Reply.objects.exists()
