"""X's self-serve reply rule (API-FACTS §4): on pay-per-use self-serve plans X refuses an API
reply unless the author of the post replied to summoned the replying account. The policy's
`x_plan` says which plan the desk is on; the handle choice, the sandbox and the connector
follow it."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import httpx
import pytest
from django.test import Client
from django.urls import reverse

from mentiondesk.accounts.models import User
from mentiondesk.actions import policy as policy_actions
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.connectors.base import Rejected
from mentiondesk.channels.connectors.x import XConnector
from mentiondesk.core.errors import DomainError, Forbidden
from mentiondesk.intake import ingest as channel_services
from mentiondesk.policy.schema import Policy, PolicyError, policy_parse
from mentiondesk.replies import services
from mentiondesk.replies.models import DeliveryAttempt, Reply
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.sandbox.x.store import REPLY_NOT_SUMMONED
from mentiondesk.tickets.models import Ticket, TicketEvent
from tests.conftest import DESK_POLICY

RULE = (
    "on X's self-serve plan (policy x_plan) X refuses API replies from accounts the post does "
    "not mention"
)


def ingest() -> None:
    results = channel_services.mentions_poll_all()
    assert not [r.error for r in results if r.error]


def enterprise(desk: SandboxServer) -> None:
    policy_actions.policy_apply_text(text='x_plan = "enterprise"\n' + DESK_POLICY, source="e")
    desk.store.plan_set("enterprise")


def availability_report_to_main(desk: SandboxServer, advocate: User) -> Ticket:
    desk.store.mention_add("kai", "@Driftwood is the API down? every call gives 502")
    ingest()
    return ticket_actions.ticket_intent_set(
        ticket=Ticket.objects.get(), intent="availability", by=advocate
    )


# The policy key


def test_x_plan_defaults_to_self_serve_and_reads_enterprise() -> None:
    assert Policy().x_plan == "self_serve"
    assert policy_parse(text=DESK_POLICY, source="team.toml").x_plan == "self_serve"
    parsed = policy_parse(text='x_plan = "enterprise"\n' + DESK_POLICY, source="team.toml")
    assert parsed.x_plan == "enterprise"
    assert not parsed.x_replies_need_summons


@pytest.mark.parametrize("value", ['"basic"', '"Self_Serve"', "true", "1", "[]"])
def test_an_unknown_x_plan_is_refused_precisely(value: str) -> None:
    with pytest.raises(PolicyError) as exc:
        policy_parse(text=f"x_plan = {value}\n", source="team.toml")
    assert exc.value.message.startswith("team.toml: x_plan: expected one of self_serve, ")


# The handle a reply goes out from


@pytest.mark.django_db
def test_an_availability_report_to_main_is_answered_from_main_on_self_serve(
    desk: SandboxServer, advocate: User, infrastructure: User
) -> None:
    ticket = availability_report_to_main(desk, advocate)
    choice = services.reply_handle_choice(ticket=ticket, user=infrastructure)
    assert choice.handle.username == "Driftwood"
    assert choice.reason == (
        f"It is about availability: @DriftwoodStatus answers. But {RULE}, so your reply goes "
        "out from @Driftwood."
    )


@pytest.mark.django_db
def test_on_enterprise_the_handbook_choice_stands(
    desk: SandboxServer, advocate: User, infrastructure: User
) -> None:
    enterprise(desk)
    ticket = availability_report_to_main(desk, advocate)
    choice = services.reply_handle_choice(ticket=ticket, user=infrastructure)
    assert choice.handle.username == "DriftwoodStatus"
    assert "self-serve" not in choice.reason


@pytest.mark.django_db
def test_a_status_handle_mention_is_answered_from_it_or_by_infrastructure_only(
    desk: SandboxServer, advocate: User, infrastructure: User
) -> None:
    """The handbook answers a non-availability @DriftwoodStatus mention from main; X would
    refuse that on self-serve, so infrastructure answers from the status handle, and an
    advocate (who may not post from it) is told why they cannot reply."""
    desk.store.mention_add("kai", "@DriftwoodStatus how do I rotate a runner token?")
    ingest()
    ticket = Ticket.objects.get()
    by_infra = services.reply_handle_choice(ticket=ticket, user=infrastructure)
    assert by_infra.handle.username == "DriftwoodStatus"
    assert "only speaks about availability" in by_infra.reason
    assert by_infra.reason.endswith(f"{RULE}, so your reply goes out from @DriftwoodStatus.")
    assert len(by_infra.reason) <= Reply._meta.get_field("handle_reason").max_length
    with pytest.raises(Forbidden, match="only infrastructure users post from there"):
        services.reply_create(ticket=ticket, author=advocate, text="@kai Settings, Runners")


@pytest.mark.django_db
def test_a_post_that_summons_none_of_our_handles_cannot_be_answered(
    desk: SandboxServer, advocate: User
) -> None:
    """kai's follow-up in their own thread does not mention us: X would refuse any reply."""
    first = desk.store.mention_add("kai", "@Driftwood pushes fail with 502")
    follow_up = desk.store.mention_add("kai", "also the web UI", in_reply_to=first)
    ingest()
    # Not in our mentions timeline (it names nobody): read with its conversation, it joins
    # kai's ticket and is what a reply would answer.
    x = XConnector(base_url=desk.url, token=desk.store.token_for("Driftwood"))
    channel_services.mentions_store(
        handle=Ticket.objects.get().handle, posts=x.posts_lookup([follow_up]).posts
    )
    ticket = Ticket.objects.get()
    assert ticket.posts.filter(remote_id=follow_up).exists()
    with pytest.raises(DomainError, match="mentions none of our handles") as exc:
        services.reply_create(ticket=ticket, author=advocate, text="Looking into it")
    assert RULE in exc.value.message
    assert not Reply.objects.exists()


# The sandbox answers as X does


def api(server: SandboxServer, username: str = "Driftwood") -> httpx.Client:
    token = server.store.token_for(username)
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})


def api_facts_403(shared_fixtures: Path) -> dict[str, object]:
    """The 403 problem body API-FACTS §3 records for POST /2/tweets (its detail aside)."""
    facts = (shared_fixtures / "x-api-v2" / "API-FACTS.md").read_text()
    match = re.search(r'```json\n(\{"detail":"You are not allowed.*\})\n```', facts)
    assert match, "API-FACTS §3 records the 403 body of POST /2/tweets"
    return json.loads(match.group(1))


def test_the_sandbox_refuses_a_reply_its_author_did_not_summon(
    sandbox: SandboxServer, shared_fixtures: Path
) -> None:
    elsewhere = sandbox.store.mention_add("kai", "@Other is the API down?")
    to_us = sandbox.store.mention_add("kai", "@Driftwood is the API down?")
    with api(sandbox, "DriftwoodStatus") as client:
        refused = client.post(
            "/2/tweets", json={"text": "Investigating", "reply": {"in_reply_to_tweet_id": to_us}}
        )
        not_ours = client.post(
            "/2/tweets", json={"text": "Hi", "reply": {"in_reply_to_tweet_id": elsewhere}}
        )
    with api(sandbox) as client:
        allowed = client.post(
            "/2/tweets", json={"text": "Looking", "reply": {"in_reply_to_tweet_id": to_us}}
        )
        # A reply to our reply summons us too (X starts its text with our @username).
        answer = sandbox.store.mention_add(
            "kai", "thanks, still down", in_reply_to=allowed.json()["data"]["id"]
        )
        again = client.post(
            "/2/tweets", json={"text": "Still on it", "reply": {"in_reply_to_tweet_id": answer}}
        )
    facts = api_facts_403(shared_fixtures)
    for response in (refused, not_ours):
        assert response.status_code == 403
        body = response.json()
        assert body == {**facts, "detail": REPLY_NOT_SUMMONED}
        assert body["detail"].startswith("Reply to this conversation is not allowed")
    assert (allowed.status_code, again.status_code) == (201, 201)
    assert [p["author_id"] for p in sandbox.store.posts(author="DriftwoodStatus")] == []


def test_the_sandbox_plays_enterprise_when_told(sandbox: SandboxServer) -> None:
    to_main = sandbox.store.mention_add("kai", "@Driftwood is the API down?")
    control = httpx.Client(base_url=sandbox.url)
    assert control.get("/_sandbox/plan").json() == {"x_plan": "self_serve"}
    assert control.post("/_sandbox/plan", json={"x_plan": "basic"}).status_code == 400
    assert control.post("/_sandbox/plan", json={"x_plan": "enterprise"}).json() == {
        "x_plan": "enterprise"
    }
    with api(sandbox, "DriftwoodStatus") as client:
        response = client.post(
            "/2/tweets", json={"text": "Investigating", "reply": {"in_reply_to_tweet_id": to_main}}
        )
    assert response.status_code == 201


def test_the_connector_says_which_rule_refused_the_reply(sandbox: SandboxServer) -> None:
    to_main = sandbox.store.mention_add("kai", "@Driftwood is the API down?")
    x = XConnector(base_url=sandbox.url, token=sandbox.store.token_for("DriftwoodStatus"))
    with pytest.raises(Rejected) as exc:
        x.post_create("Investigating", in_reply_to_id=to_main)
    assert exc.value.status == 403
    assert "On X's self-serve plan (policy x_plan) X refuses API replies" in str(exc.value)
    assert 'set x_plan = "enterprise"' in str(exc.value)


# End to end


@pytest.mark.django_db
def test_a_queued_availability_reply_goes_out_from_main_threaded_to_the_report(
    desk: SandboxServer, advocate: User, infrastructure: User
) -> None:
    ticket = availability_report_to_main(desk, advocate)
    report = ticket.posts.get().remote_id
    reply = services.reply_create(ticket=ticket, author=infrastructure, text="Investigating")
    assert reply.handle.username == "Driftwood" and RULE in reply.handle_reason
    reply = services.reply_deliver(reply_id=reply.pk)
    assert reply.status == Reply.Status.SENT, reply.reason
    (sent,) = desk.store.posts(author="Driftwood")
    assert sent["referenced_tweets"] == [{"type": "replied_to", "id": report}]
    assert desk.store.posts(author="DriftwoodStatus") == []


@pytest.mark.django_db
def test_a_reply_x_refuses_under_the_rule_is_parked_with_the_rule_as_its_reason(
    desk: SandboxServer, advocate: User, infrastructure: User
) -> None:
    """The policy says enterprise but X's plan is self-serve: X refuses, and the parked
    reply says which rule and what to do."""
    policy_actions.policy_apply_text(text='x_plan = "enterprise"\n' + DESK_POLICY, source="e")
    ticket = availability_report_to_main(desk, advocate)
    reply = services.reply_create(ticket=ticket, author=infrastructure, text="Investigating")
    assert reply.handle.username == "DriftwoodStatus"
    reply = services.reply_deliver(reply_id=reply.pk)
    assert reply.status == Reply.Status.NEEDS_ATTENTION
    assert reply.attempts_log.get().outcome == DeliveryAttempt.Outcome.REJECTED
    assert "On X's self-serve plan (policy x_plan) X refuses API replies" in reply.reason


# The composer


@pytest.mark.django_db
def test_the_composer_shows_the_allowed_handle_and_why(
    desk: SandboxServer, advocate: User, infrastructure: User
) -> None:
    ticket = availability_report_to_main(desk, advocate)
    client = Client()
    client.force_login(infrastructure)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'Reply from <strong class="handle">@Driftwood</strong>' in page
    assert f"But {RULE}, so your reply goes out from @Driftwood." in unescape(page)


@pytest.mark.django_db
def test_the_composer_says_why_nobody_here_may_answer(desk: SandboxServer, advocate: User) -> None:
    desk.store.mention_add("kai", "@DriftwoodStatus how do I rotate a runner token?")
    ingest()
    client = Client()
    client.force_login(advocate)
    page = unescape(
        client.get(reverse("tickets:detail", args=[Ticket.objects.get().pk])).content.decode()
    )
    assert "is-blocked" in page
    assert "it mentions only @DriftwoodStatus: only infrastructure users post from there." in page


@pytest.mark.django_db
def test_a_reply_from_the_only_summoned_handle_is_not_noted_as_the_wrong_handle(
    desk: SandboxServer, infrastructure: User
) -> None:
    desk.store.mention_add("kai", "@DriftwoodStatus how do I rotate a runner token?")
    ingest()
    ticket = Ticket.objects.get()
    reply = services.reply_create(ticket=ticket, author=infrastructure, text="Settings, Runners")
    reply = services.reply_deliver(reply_id=reply.pk)
    assert (reply.status, reply.handle.username) == (Reply.Status.SENT, "DriftwoodStatus")
    assert not ticket.events.filter(kind=TicketEvent.Kind.WRONG_HANDLE).exists()
