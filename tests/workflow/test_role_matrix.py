"""Every role-by-action cell of the handbook's rules, through the REST API (which calls the
services). Each cell runs on a fresh desk: sandbox X network, Slack server, policy, tickets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels import selectors as channel_selectors
from mentiondesk.channels.models import Post
from mentiondesk.replies import services as reply_services
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets import services as ticket_services
from mentiondesk.tickets.models import Ticket, TicketEvent
from tests.workflow.conftest import ROLES, Api, ingest

pytestmark = pytest.mark.django_db


@dataclass
class Desk:
    praise: Ticket
    question: Ticket
    outage: Ticket
    our_post: Post  # sent by another advocate, "writer"
    stream_post: Post


@pytest.fixture
def setup(desk: SandboxServer, slack: Any, api: dict[str, Api]) -> Desk:
    writer = account_services.user_create(username="writer", role="advocate")
    desk.store.mention_add("fan", "@Driftwood the new editor is brilliant")
    desk.store.mention_add("asker", "@Driftwood how do I rotate a runner token?")
    # Both handles: on X's self-serve plan (the default) a reply comes only from a handle the
    # post mentions, and the roles that may not post from the status handle answer from main.
    desk.store.mention_add("down", "@Driftwood @DriftwoodStatus is the API down? 502s everywhere")
    desk.store.mention_add("mover", "@MoveToDriftwood can I import my repos from elsewhere?")
    ingest()
    praise = Ticket.objects.get(requester_username="fan")
    ticket_actions.ticket_intent_set(ticket=praise, intent="praise", by=writer)
    outage = Ticket.objects.get(requester_username="down")
    ticket_actions.ticket_intent_set(ticket=outage, intent="availability", by=writer)
    question = Ticket.objects.get(requester_username="asker")
    # The praise is older: answering the question first skips the queue, with a reason.
    reply = reply_services.reply_create(
        ticket=question, author=writer, text="Docs: rotate it.", reason="I know this one"
    )
    reply = reply_services.reply_deliver(reply_id=reply.pk)
    assert reply.post is not None
    return Desk(
        praise=praise,
        question=question,
        outage=Ticket.objects.get(pk=outage.pk),
        our_post=reply.post,
        stream_post=Post.objects.get(author_username="mover"),
    )


def first_post(ticket: Ticket) -> str:
    return str(ticket.posts.filter(direction="in").first().remote_id)  # type: ignore[union-attr]


def assign_to(role_api: Api, ticket: Ticket) -> None:
    lead = account_services.user_create(username="assigner", role="lead")
    ticket_services.ticket_assign(ticket=ticket, assignee=role_api.user, by=lead)


def give_to_writer(ticket: Ticket) -> None:
    lead = User.objects.filter(username="assigner").first() or account_services.user_create(
        username="assigner", role="lead"
    )
    writer = User.objects.get(username="writer")
    ticket_services.ticket_assign(ticket=ticket, assignee=writer, by=lead)


Action = Callable[[Api, Desk], Any]
OUTAGE_FIRST = "502s everywhere: an outage goes first"

ACTIONS: dict[str, Action] = {
    "reply": lambda a, d: a.post(f"/tickets/{d.praise.pk}/replies", {"text": "Thank you!"}),
    # Play gives the praise first (the oldest unassigned ticket): the outage is out of order.
    "reply_on_outage": lambda a, d: a.post(
        f"/tickets/{d.outage.pk}/replies", {"text": "On it", "reason": OUTAGE_FIRST}
    ),
    "reply_out_of_order": lambda a, d: a.post(f"/tickets/{d.outage.pk}/replies", {"text": "On it"}),
    "assign_in_order": lambda a, d: a.post(
        f"/tickets/{d.praise.pk}/assign", {"assignee": a.user.username}
    ),
    "assign_out_of_order": lambda a, d: a.post(
        f"/tickets/{d.outage.pk}/assign", {"assignee": a.user.username}
    ),
    "assign_out_of_order_with_reason": lambda a, d: a.post(
        f"/tickets/{d.outage.pk}/assign", {"assignee": a.user.username, "reason": OUTAGE_FIRST}
    ),
    "reply_on_others_ticket": lambda a, d: (
        give_to_writer(d.outage),
        a.post(f"/tickets/{d.outage.pk}/replies", {"text": "On it"}),
    )[1],
    "take_over_with_reason": lambda a, d: (
        give_to_writer(d.outage),
        a.post(
            f"/tickets/{d.outage.pk}/replies",
            {"text": "On it", "reason": "writer is off sick today"},
        ),
    )[1],
    "reply_from_stream": lambda a, d: a.post(
        f"/stream/{d.stream_post.remote_id}/reply", {"text": "Yes: Settings → Import."}
    ),
    "like_praise": lambda a, d: a.post(f"/posts/{first_post(d.praise)}/like"),
    "like_question": lambda a, d: a.post(f"/posts/{first_post(d.question)}/like"),
    "like_question_with_reason": lambda a, d: a.post(
        f"/posts/{first_post(d.question)}/like", {"reason": "thanking for a kind word"}
    ),
    "dm": lambda a, d: a.post(
        f"/tickets/{d.question.pk}/direct-messages",
        {"text": "Could you send your address?", "purpose": "collect a mailing address"},
    ),
    "dm_without_purpose": lambda a, d: a.post(
        f"/tickets/{d.question.pk}/direct-messages", {"text": "hi"}
    ),
    "delete_others_post": lambda a, d: a.post(f"/posts/{d.our_post.remote_id}/delete"),
    "reassign": lambda a, d: a.post(f"/tickets/{d.question.pk}/assign", {"assignee": "writer"}),
    "hand_back_without_reason": lambda a, d: a.post(
        f"/tickets/{d.question.pk}/hand-back", {"reason": " ", "category": "hosted"}
    ),
    "hand_back": lambda a, d: (
        assign_to(a, d.question) if a.user.can_reply else None,
        a.post(
            f"/tickets/{d.question.pk}/hand-back",
            {"reason": "needs a runner expert", "category": "hosted"},
        ),
    )[1],
    "status_update": lambda a, d: a.post(
        "/status-updates", {"text": "We're investigating elevated API errors."}
    ),
    "escalate": lambda a, d: a.post(
        f"/tickets/{d.question.pk}/escalate", {"category": "self_managed", "note": "?"}
    ),
    "report_spam": lambda a, d: a.post(f"/tickets/{d.question.pk}/spam-report"),
    "suggest_retweet": lambda a, d: a.post(f"/posts/{first_post(d.praise)}/suggest-retweet"),
    "retweet": lambda a, d: a.post(f"/posts/{first_post(d.praise)}/retweet"),
    "note": lambda a, d: a.post(f"/tickets/{d.question.pk}/notes", {"text": "self-managed"}),
}

ALL_BUT_LIGHT = {"advocate": 201, "lead": 201, "infrastructure": 201, "light_agent": 403}
# Expected HTTP status per action and role (admin behaves like a lead).
MATRIX: dict[str, dict[str, int]] = {
    "reply": ALL_BUT_LIGHT,
    "reply_on_outage": ALL_BUT_LIGHT,
    # Skipping the queue: a reason from everyone but leads and admins.
    "reply_out_of_order": {**ALL_BUT_LIGHT, "advocate": 400, "infrastructure": 400},
    "assign_in_order": {"advocate": 200, "lead": 200, "infrastructure": 200, "light_agent": 403},
    "assign_out_of_order": {
        "advocate": 400,
        "lead": 200,
        "infrastructure": 400,
        "light_agent": 403,
    },
    "assign_out_of_order_with_reason": {
        "advocate": 200,
        "lead": 200,
        "infrastructure": 200,
        "light_agent": 403,
    },
    # Someone else's ticket: never for advocates; leads take it over with a reason.
    "reply_on_others_ticket": {
        "advocate": 403,
        "lead": 400,
        "infrastructure": 403,
        "light_agent": 403,
    },
    "take_over_with_reason": {**ALL_BUT_LIGHT, "advocate": 403, "infrastructure": 403},
    "reply_from_stream": ALL_BUT_LIGHT,
    "like_praise": ALL_BUT_LIGHT,
    "like_question": {**ALL_BUT_LIGHT, "advocate": 400, "lead": 400, "infrastructure": 400},
    "like_question_with_reason": ALL_BUT_LIGHT,
    "dm": ALL_BUT_LIGHT,
    "dm_without_purpose": {"advocate": 400, "lead": 400, "infrastructure": 400, "light_agent": 403},
    "delete_others_post": {"advocate": 403, "lead": 201, "infrastructure": 403, "light_agent": 403},
    "reassign": {"advocate": 403, "lead": 200, "infrastructure": 403, "light_agent": 403},
    "hand_back_without_reason": dict.fromkeys(ROLES, 400),
    "hand_back": {"advocate": 200, "lead": 200, "infrastructure": 200, "light_agent": 403},
    "status_update": {"advocate": 403, "lead": 403, "infrastructure": 201, "light_agent": 403},
    "escalate": dict.fromkeys(ROLES, 201),
    "report_spam": ALL_BUT_LIGHT,
    "suggest_retweet": dict.fromkeys(ROLES, 201),
    "retweet": dict.fromkeys(ROLES, 404),  # there is no retweet action at all
    "note": dict.fromkeys(ROLES, 201),
}
for cells in MATRIX.values():
    cells.setdefault("admin", cells["lead"])

CELLS = [(action, role) for action in MATRIX for role in ROLES]


@pytest.mark.parametrize(("action", "role"), CELLS, ids=[f"{a}-{r}" for a, r in CELLS])
def test_role_action_cell(action: str, role: str, setup: Desk, api: dict[str, Api]) -> None:
    response = ACTIONS[action](api[role], setup)
    expected = MATRIX[action][role]
    assert response.status_code == expected, (action, role, response.content[:300])
    if expected >= 400 and response.status_code != 404:
        assert response.json()["detail"], "every refusal says why"


@pytest.mark.parametrize(
    ("role", "handle"),
    [
        ("advocate", "Driftwood"),
        ("lead", "Driftwood"),
        ("infrastructure", "DriftwoodStatus"),
        ("admin", "Driftwood"),
    ],
)
def test_outage_replies_go_out_from_the_handle_the_role_may_use(
    role: str, handle: str, setup: Desk, api: dict[str, Api]
) -> None:
    choice = api[role].get(f"/tickets/{setup.outage.pk}/reply-handle").json()
    assert choice["handle"] == handle
    assert "availability" in choice["reason"]
    reply = api[role].post(
        f"/tickets/{setup.outage.pk}/replies", {"text": "Looking into it", "reason": OUTAGE_FIRST}
    )
    assert reply.json()["handle"] == handle
    assert reply.json()["handle_reason"] == choice["reason"]


def test_stream_replies_go_out_from_the_campaign_handle(setup: Desk, api: dict[str, Api]) -> None:
    reply = ACTIONS["reply_from_stream"](api["advocate"], setup).json()
    assert reply["handle"] == "MoveToDriftwood"
    stream = api["advocate"].get("/stream").json()
    assert [p["author"] for p in stream] == ["mover"]
    again = ACTIONS["reply_from_stream"](api["lead"], setup)
    assert again.status_code == 409, "one answer per post, from the stream or the desk"
    assert channel_selectors.stream_posts()[0].remote_id == setup.stream_post.remote_id


def test_out_of_order_takes_say_the_field_and_are_audited(setup: Desk, api: dict[str, Api]) -> None:
    refused = ACTIONS["assign_out_of_order"](api["advocate"], setup).json()
    assert refused["field"] == "reason"
    assert f"Play gives you #{setup.praise.pk} next" in refused["detail"]
    ACTIONS["assign_out_of_order_with_reason"](api["advocate"], setup)
    taken = setup.outage.events.get(kind=TicketEvent.Kind.TAKEN_OUT_OF_ORDER)
    assert (taken.actor, taken.message) == (api["advocate"].user, OUTAGE_FIRST)
    assert taken.data == {
        "via": "assign",
        "from": None,
        "to": "advocate_user",
        "play_next": setup.praise.pk,
    }


def test_a_lead_taking_over_is_audited_and_owns_the_ticket(
    setup: Desk, api: dict[str, Api]
) -> None:
    refused = ACTIONS["reply_on_others_ticket"](api["advocate"], setup).json()
    assert "assigned to writer" in refused["detail"]
    assert ACTIONS["take_over_with_reason"](api["lead"], setup).status_code == 201
    ticket = Ticket.objects.get(pk=setup.outage.pk)
    assert ticket.assignee == api["lead"].user
    taken = ticket.events.get(kind=TicketEvent.Kind.TAKEN_OUT_OF_ORDER)
    assert taken.actor == api["lead"].user
    assert taken.message == "writer is off sick today"
    assert taken.data["from"] == "writer" and taken.data["via"] == "reply"
