"""The workflow rules on the HTML screens: intent, hand-back, experts, spam reports, likes,
retweet suggestions, deletes, direct messages, the collision guard, presence, strict play,
status updates and the stream. Django's test client against a real database, the sandbox
X network and the local Slack-compatible server; tickets come from the real ingest."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from html import unescape
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from mentiondesk.accounts.models import User
from mentiondesk.actions import policy as policy_actions
from mentiondesk.channels.models import Post
from mentiondesk.intake import ingest as channel_services
from mentiondesk.integrations.slack.models import SlackMessage
from mentiondesk.replies.models import PostAction, Reply
from mentiondesk.sandbox.slack import SlackServer
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket, TicketEvent
from mentiondesk.triage import services as triage_services
from tests.conftest import DESK_POLICY
from tests.integrations.conftest import slack, slack_server  # noqa: F401

pytestmark = pytest.mark.django_db

OnCommit = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]
SLACK_OFF = "Slack is not configured. An admin can connect it."
SETTINGS = "MENTIONDESK_SLACK_ENABLED, MENTIONDESK_SLACK_BOT_TOKEN"


def ingest() -> None:
    results = channel_services.mentions_poll_all()
    assert not [r.error for r in results if r.error]


def html(response: Any) -> str:
    return response.content.decode()


def text_of(response: Any) -> str:
    """The page's text, tags dropped and whitespace folded, for phrases split by markup."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html(response))).split())


def url(name: str, *args: Any) -> str:
    return reverse(name, args=args)


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"the page has a hidden {name}"
    return match.group(1)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ana(advocate: User) -> Client:
    return signed_in(advocate)


@pytest.fixture
def ticket(desk: SandboxServer) -> Ticket:
    desk.store.mention_add("maya", "@Driftwood pushing to main fails with a 502")
    ingest()
    return Ticket.objects.get()


@pytest.fixture
def held(ticket: Ticket, ana: Client) -> Ticket:
    """`ticket`, taken by ana in play mode."""
    response = ana.post(url("tickets:next"), {"view": "twitter"})
    assert response["Location"] == url("tickets:detail", ticket.pk)
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def slack_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "SLACK_ENABLED", False)
    monkeypatch.setattr(settings, "SLACK_BOT_TOKEN", "")


def inbound(ticket: Ticket) -> Post:
    return ticket.posts.filter(direction=Post.Direction.INBOUND).latest("created_at")


# Access


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("tickets:intent", [1]),
        ("tickets:hand_back", [1]),
        ("tickets:escalate", [1]),
        ("tickets:report_spam", [1]),
        ("tickets:dm", [1]),
        ("tickets:presence", [1]),
        ("tickets:like", [1, "123"]),
        ("tickets:suggest_retweet", [1, "123"]),
        ("tickets:delete_post", [1, "123"]),
        ("replies:stream_reply", ["123"]),
        ("replies:stream_like", ["123"]),
        ("replies:status_create", []),
    ],
)
def test_rule_actions_require_login_and_post(
    client: Client, advocate: User, name: str, args: list[Any]
) -> None:
    response = client.post(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    client.force_login(advocate)
    assert client.get(reverse(name, args=args)).status_code == 405


def test_rule_pages_require_login(client: Client) -> None:
    for name in ("replies:stream", "replies:status"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_forms_carry_csrf_tokens_and_the_pages_no_inline_script(held: Ticket, ana: Client) -> None:
    page = html(ana.get(url("tickets:detail", held.pk)))
    forms = re.findall(r"<form\b[^>]*method=\"post\"[^>]*>", page)
    assert len(forms) >= 8
    assert page.count('name="csrfmiddlewaretoken"') >= len(forms)
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "no inline scripts"
    assert " style=" not in page, "no inline styles"


# Intent and the reply handle


def test_intent_selector_shows_the_intent_and_switches_the_reply_handle(
    desk: SandboxServer, ana: Client, infrastructure: User
) -> None:
    # The handbook's switching, where X allows it: on self-serve, test_x_plan.py.
    policy_actions.policy_apply_text(text='x_plan = "enterprise"\n' + DESK_POLICY, source="e")
    desk.store.mention_add("maya", "@DriftwoodStatus is the site down?")
    ingest()
    ticket = Ticket.objects.get()
    detail = url("tickets:detail", ticket.pk)
    page = html(ana.get(detail))
    assert '<option value="" selected>Not triaged</option>' in page
    assert 'Reply from <strong class="handle">@Driftwood</strong>' in page
    assert "only speaks about availability" in page

    response = ana.post(url("tickets:intent", ticket.pk), {"intent": "availability"}, follow=True)
    page = html(response)
    assert "is about: availability" in page
    assert '<option value="availability" selected>Availability</option>' in page
    assert 'data-intent="availability">Availability' in page
    # The status handle answers availability, but only infrastructure posts from it.
    assert 'Reply from <strong class="handle">@Driftwood</strong>' in page
    assert (
        "It is about availability: @DriftwoodStatus answers. Only infrastructure users post "
        "from @DriftwoodStatus, so your reply goes out from @Driftwood."
    ) in unescape(page)
    assert TicketEvent.objects.get(kind=TicketEvent.Kind.INTENT_SET).data["to"] == "availability"

    infra_page = html(signed_in(infrastructure).get(detail))
    assert 'Reply from <strong class="handle">@DriftwoodStatus</strong>' in infra_page


def test_intent_is_refused_for_light_agents_and_unknown_values(
    ticket: Ticket, ana: Client, light_agent: User
) -> None:
    lisa = signed_in(light_agent)
    page = html(lisa.get(url("tickets:detail", ticket.pk)))
    assert url("tickets:intent", ticket.pk) not in page
    response = lisa.post(url("tickets:intent", ticket.pk), {"intent": "praise"})
    assert response.status_code == 403
    assert "light agents cannot label tickets" in html(response)

    response = ana.post(url("tickets:intent", ticket.pk), {"intent": "gossip"})
    assert response.status_code == 400 and "Select a valid choice" in html(response)
    ticket.refresh_from_db()
    assert ticket.intent == ""


# Hand back and experts (Slack)


def test_hand_back_without_a_reason_is_refused_next_to_the_form(
    slack: SlackServer,  # noqa: F811
    held: Ticket,
    ana: Client,
    advocate: User,
) -> None:
    page = html(ana.get(url("tickets:detail", held.pk)))
    assert url("tickets:hand_back", held.pk) in page
    assert "Hand back to the queue" in page
    assert '<option value="hosted">Hosted service</option>' in page
    assert "Unassign" not in page.replace("Unassigned", "")

    response = ana.post(url("tickets:hand_back", held.pk), {"reason": "  ", "category": "hosted"})
    assert response.status_code == 400
    page = html(response)
    assert "say why you are handing the ticket back" in page
    assert re.search(r'<details class="side-action" id="hand-back" open>', page)
    response = ana.post(url("tickets:hand_back", held.pk), {"reason": "No idea", "category": ""})
    assert response.status_code == 400 and "Choose who to ask." in html(response)
    held.refresh_from_db()
    assert held.assignee == advocate
    assert SlackMessage.objects.count() == 0


def test_hand_back_with_a_reason_returns_the_ticket_and_asks_the_experts(
    slack: SlackServer,  # noqa: F811
    held: Ticket,
    ana: Client,
    django_capture_on_commit_callbacks: OnCommit,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = ana.post(
            url("tickets:hand_back", held.pk),
            {"reason": "Needs someone who knows runners", "category": "self_managed"},
        )
    assert response.status_code == 302
    assert response["Location"] == f"{url('tickets:queue')}?view=twitter"
    held.refresh_from_db()
    assert held.assignee is None and held.escalated_at is not None
    (posted,) = slack.messages
    assert posted.channel == slack.channel_id("support_self-managed")
    assert "Needs someone who knows runners" in posted.text

    queue = ana.get(response["Location"])
    assert "is back in the queue" in html(queue) and "Self-managed experts were asked" in html(
        queue
    )
    page = html(ana.get(url("tickets:detail", held.pk)))
    assert "Handed back" in page and "Needs someone who knows runners" in page
    assert '<span class="badge badge-sent">Slack: sent</span>' in page
    message = SlackMessage.objects.get()
    assert f'href="{message.permalink}"' in page and message.permalink.startswith("https://")
    # Strict play skips it for the one who handed it back.
    response = ana.post(url("tickets:next"), {"view": "twitter"}, follow=True)
    assert "Queue is clear" in html(response)


def test_hand_back_by_another_advocate_is_forbidden(
    slack: SlackServer,  # noqa: F811
    held: Ticket,
    advocate2: User,
) -> None:
    ben = signed_in(advocate2)
    assert url("tickets:hand_back", held.pk) not in html(ben.get(url("tickets:detail", held.pk)))
    response = ben.post(url("tickets:hand_back", held.pk), {"reason": "x", "category": "hosted"})
    assert response.status_code == 403
    assert "only the ticket&#x27;s assignee or a lead hands it back" in html(response)


def test_ask_an_expert_shows_the_slack_message_status(
    slack: SlackServer,  # noqa: F811
    held: Ticket,
    ana: Client,
    django_capture_on_commit_callbacks: OnCommit,
) -> None:
    response = ana.post(url("tickets:escalate", held.pk), {"category": "", "note": "?"})
    assert response.status_code == 400 and "Choose who to ask." in html(response)

    with django_capture_on_commit_callbacks(execute=True):
        response = ana.post(
            url("tickets:escalate", held.pk), {"category": "hosted", "note": "Is CI degraded?"}
        )
    assert response.status_code == 302
    page = html(ana.get(response["Location"]))
    assert "Asked #support_gitlab-com in Slack." in page
    assert "Slack: sent" in page and "#support_gitlab-com ↗" in page
    held.refresh_from_db()
    assert held.assignee is not None, "asking an expert keeps the ticket"

    # Slack refusing shows as failed, with Slack's reason.
    slack.fault("error", error="channel_not_found", method="chat.postMessage")
    with django_capture_on_commit_callbacks(execute=True):
        ana.post(url("tickets:escalate", held.pk), {"category": "managers"})
    failed = SlackMessage.objects.get(status=SlackMessage.Status.FAILED)
    page = html(ana.get(url("tickets:detail", held.pk)))
    assert "Slack: failed" in page and failed.last_error in unescape(page)


def test_a_queued_slack_message_shows_as_queued_and_keeps_the_page_polling(
    slack: SlackServer,  # noqa: F811
    held: Ticket,
    ana: Client,
) -> None:
    # Without running the after-commit delivery, the message stays in the Slack outbox.
    ana.post(url("tickets:escalate", held.pk), {"category": "hosted"})
    page = html(ana.get(url("tickets:detail", held.pk)))
    assert "Slack: queued" in page
    assert 'hx-trigger="every 2s"' in page


def test_slack_actions_look_unavailable_when_slack_is_not_configured(
    slack_off: None, held: Ticket, ana: Client
) -> None:
    response = ana.get(url("tickets:detail", held.pk))
    assert SLACK_OFF in text_of(response)
    assert "MENTIONDESK_" not in text_of(response)  # setting names are for leads and admins
    page = html(response)
    for label in ("Hand back…", "Ask an expert…", "Report spam…", "Suggest for retweet"):
        assert re.search(rf"<button [^>]*disabled[^>]*>{re.escape(label)}</button>", page), label
    for name in ("tickets:hand_back", "tickets:escalate", "tickets:report_spam"):
        assert url(name, held.pk) not in page

    # Sent anyway (a stale page): the refusal is shown, as a page, with its 503.
    response = ana.post(url("tickets:escalate", held.pk), {"category": "hosted"})
    assert response.status_code == 503
    assert response["X-Desk-Error"] == "slack_unavailable"
    assert "Slack is not configured on this desk, so nothing was posted." in html(response)
    response = ana.post(url("tickets:hand_back", held.pk), {"reason": "x", "category": "hosted"})
    assert response.status_code == 503
    held.refresh_from_db()
    assert held.assignee is not None
    assert SlackMessage.objects.count() == 0


def test_report_spam_posts_to_slack_and_puts_the_thank_you_draft_in_the_composer(
    slack: SlackServer,  # noqa: F811
    held: Ticket,
    ana: Client,
    django_capture_on_commit_callbacks: OnCommit,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = ana.post(
            url("tickets:report_spam", held.pk),
            {"url": "https://gitlab.example.com/group/project/-/issues/9"},
        )
    assert response.status_code == 302
    (posted,) = slack.messages
    assert posted.channel == slack.channel_id("abuse")
    assert "https://gitlab.example.com/group/project/-/issues/9" in posted.text

    page = html(ana.get(response["Location"]))
    assert "A thank-you reply is in the composer" in page
    composer = page[page.index('id="composer"') :]
    assert (
        "Thanks for letting us know, @maya! We&#x27;ve passed this on"
        in composer.split("</textarea>")[0]
    )
    assert "Spam reported" in page and "Slack: sent" in page
    # The draft is used once.
    again = html(ana.get(url("tickets:detail", held.pk)))
    assert "Thanks for letting us know" not in again.split('id="composer"')[1].split("</form>")[0]


def test_light_agents_cannot_report_spam(
    slack: SlackServer,  # noqa: F811
    ticket: Ticket,
    light_agent: User,
) -> None:
    lisa = signed_in(light_agent)
    assert url("tickets:report_spam", ticket.pk) not in html(
        lisa.get(url("tickets:detail", ticket.pk))
    )
    response = lisa.post(url("tickets:report_spam", ticket.pk), {"url": ""})
    assert response.status_code == 403 and "light agents cannot report spam" in html(response)


# Likes, retweet suggestions, deletes


def test_like_on_a_praise_ticket_is_one_click(
    desk: SandboxServer,
    ana: Client,
    django_capture_on_commit_callbacks: OnCommit,
) -> None:
    desk.store.mention_add("olek", "@Driftwood love the new pipeline editor!")
    ingest()
    ticket = Ticket.objects.get()
    ana.post(url("tickets:intent", ticket.pk), {"intent": "praise"})
    post = inbound(ticket)
    page = html(ana.get(url("tickets:detail", ticket.pk)))
    assert "Like anyway" not in page
    assert url("tickets:like", ticket.pk, post.remote_id) in page

    with django_capture_on_commit_callbacks(execute=True):
        response = ana.post(url("tickets:like", ticket.pk, post.remote_id), {"reason": ""})
    assert response.status_code == 302
    assert [like["tweet_id"] for like in desk.store.likes()] == [post.remote_id]
    page = html(ana.get(url("tickets:detail", ticket.pk)))
    assert 'data-like-state="done"' in page and "Liked" in page
    assert url("tickets:like", ticket.pk, post.remote_id) not in page

    # Liking twice is refused where the button was.
    response = ana.post(url("tickets:like", ticket.pk, post.remote_id), {"reason": ""})
    assert response.status_code == 409 and "already liked" in html(response)


def test_like_on_anything_but_praise_needs_a_reason(
    desk: SandboxServer,
    ticket: Ticket,
    ana: Client,
    django_capture_on_commit_callbacks: OnCommit,
) -> None:
    post = inbound(ticket)
    page = html(ana.get(url("tickets:detail", ticket.pk)))
    assert "Like anyway" in page and f'id="like-reason-{post.remote_id}"' in page

    response = ana.post(url("tickets:like", ticket.pk, post.remote_id), {"reason": " "})
    assert response.status_code == 400
    page = html(response)
    assert "likes are for positive feedback (praise)" in page
    assert f'<details class="post-action" id="like-{post.remote_id}" open>' in page
    assert PostAction.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        response = ana.post(
            url("tickets:like", ticket.pk, post.remote_id), {"reason": "Kind words in a bug"}
        )
    assert response.status_code == 302
    action = PostAction.objects.get()
    assert action.reason == "Kind words in a bug"
    assert TicketEvent.objects.get(kind=TicketEvent.Kind.LIKED).data["override"] is True


def test_a_post_of_another_ticket_is_not_found(ticket: Ticket, ana: Client) -> None:
    response = ana.post(url("tickets:like", ticket.pk, "999"), {"reason": "x"})
    assert response.status_code == 404


def test_suggest_for_retweet_goes_to_the_social_team_and_nothing_retweets(
    slack: SlackServer,  # noqa: F811
    ticket: Ticket,
    ana: Client,
    django_capture_on_commit_callbacks: OnCommit,
) -> None:
    post = inbound(ticket)
    page = text_of(ana.get(url("tickets:detail", ticket.pk)))
    mentions = re.findall(r"[^.]{0,20}retweet[^.]{0,20}", page, flags=re.IGNORECASE)
    assert mentions and all("Suggest for retweet" in m for m in mentions), mentions

    with django_capture_on_commit_callbacks(execute=True):
        response = ana.post(
            url("tickets:suggest_retweet", ticket.pk, post.remote_id), {"note": "Great quote"}
        )
    assert response.status_code == 302
    (posted,) = slack.messages
    assert posted.channel == slack.channel_id("social_media")
    assert post.url in posted.text and "Great quote" in posted.text
    page = html(ana.get(url("tickets:detail", ticket.pk)))
    assert "Suggested to #social_media" in page and "Slack: sent" in page


def test_delete_by_the_author_and_refused_for_another_advocate(
    desk: SandboxServer,
    ticket: Ticket,
    ana: Client,
    advocate2: User,
    lead: User,
    django_capture_on_commit_callbacks: OnCommit,
) -> None:
    detail = url("tickets:detail", ticket.pk)
    key = hidden(html(ana.get(detail)), "idempotency_key")
    with django_capture_on_commit_callbacks(execute=True):
        ana.post(
            url("tickets:reply", ticket.pk),
            {"text": "Oops, wrong thread", "idempotency_key": key, "status_after": "pending"},
        )
    ours = Post.objects.get(direction=Post.Direction.OUTBOUND)
    delete = url("tickets:delete_post", ticket.pk, ours.remote_id)

    assert delete in html(ana.get(detail))
    assert delete in html(signed_in(lead).get(detail)), "leads may delete any of our posts"
    ben = signed_in(advocate2)
    assert delete not in html(ben.get(detail))
    response = ben.post(delete, {"reason": "mine now"})
    assert response.status_code == 403
    assert "only the post&#x27;s author or a lead deletes it" in html(response)
    assert PostAction.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        response = ana.post(delete, {"reason": "sent to the wrong thread"})
    assert response.status_code == 302
    ours.refresh_from_db()
    assert ours.deleted_at is not None
    assert desk.store.post_get(ours.remote_id) is None
    page = html(ana.get(detail))
    assert re.search(rf'class="post post-out is-deleted" data-post-id="{ours.remote_id}"', page)
    assert '<span class="tag tag-muted">deleted</span>' in page
    assert delete not in page
    event = TicketEvent.objects.get(kind=TicketEvent.Kind.POST_DELETED)
    assert event.data["text"] == "Oops, wrong thread"


# Direct messages


def test_direct_message_needs_a_purpose(
    desk: SandboxServer,
    ticket: Ticket,
    ana: Client,
    django_capture_on_commit_callbacks: OnCommit,
) -> None:
    detail = url("tickets:detail", ticket.pk)
    page = html(ana.get(detail))
    assert '<details class="card note-box dm-box" id="dm-box">' in page, "collapsed at first"
    assert '<span class="required">required</span>' in page

    response = ana.post(
        url("tickets:dm", ticket.pk), {"purpose": "", "text": "What's your address?"}
    )
    assert response.status_code == 400
    page = html(response)
    assert "say why this needs a private conversation" in page
    assert '<details class="card note-box dm-box" id="dm-box" open>' in page
    assert "What&#x27;s your address?" in page, "the typed message is kept"
    assert Reply.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        response = ana.post(
            url("tickets:dm", ticket.pk),
            {"purpose": "to send a replacement sticker", "text": "Could you DM us your address?"},
        )
    assert response.status_code == 302
    dm = Reply.objects.get()
    assert dm.kind == Reply.Kind.DM and dm.purpose == "to send a replacement sticker"
    assert dm.status == Reply.Status.SENT
    assert [e["text"] for e in desk.store.dms()] == ["Could you DM us your address?"]
    assert "Direct message queued from @Driftwood." in html(ana.get(detail))


def test_light_agents_get_neither_dm_nor_like(ticket: Ticket, light_agent: User) -> None:
    page = html(signed_in(light_agent).get(url("tickets:detail", ticket.pk)))
    assert 'id="dm-box"' not in page
    assert "/like" not in page and "Like anyway" not in page


# The collision guard


def test_collision_stops_the_send_and_shows_what_changed(
    desk: SandboxServer,
    ticket: Ticket,
    ana: Client,
    django_capture_on_commit_callbacks: OnCommit,
) -> None:
    detail = url("tickets:detail", ticket.pk)
    page = html(ana.get(detail))
    first = inbound(ticket)
    assert hidden(page, "seen_post_id") == first.remote_id
    key = hidden(page, "idempotency_key")

    # While the agent types, the requester writes again.
    follow_up = desk.store.mention_add(
        "maya", "@Driftwood never mind, it works now", in_reply_to=first.remote_id
    )
    ingest()
    form = {
        "text": "Sorry Maya, looking into it!",
        "idempotency_key": key,
        "seen_post_id": first.remote_id,
        "status_after": "pending",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = ana.post(url("tickets:reply", ticket.pk), form)
    assert response.status_code == 409
    page = html(response)
    assert "Not sent — the conversation changed:" in page
    assert "@maya wrote “@Driftwood never mind, it works now” since you opened it." in page
    assert "Sorry Maya, looking into it!</textarea>" in page, "the typed text is kept"
    assert f'data-post-id="{follow_up}"' in page, "the conversation shows the change"
    assert hidden(page, "seen_post_id") == follow_up
    assert hidden(page, "idempotency_key") == key
    assert Reply.objects.count() == 0
    assert desk.store.posts(author="Driftwood") == []

    # Having seen it, the agent sends again from the refreshed page.
    with django_capture_on_commit_callbacks(execute=True):
        response = ana.post(url("tickets:reply", ticket.pk), {**form, "seen_post_id": follow_up})
    assert response.status_code == 302
    assert len(desk.store.posts(author="Driftwood")) == 1


def test_collision_when_someone_else_already_answered(
    desk: SandboxServer,
    ticket: Ticket,
    ana: Client,
    lead: User,
    django_capture_on_commit_callbacks: OnCommit,
) -> None:
    # Only a lead may answer a ticket someone else took (with a reason): even then, not twice.
    lee = signed_in(lead)
    lee_page = html(lee.get(url("tickets:detail", ticket.pk)))
    ana_page = html(ana.get(url("tickets:detail", ticket.pk)))
    with django_capture_on_commit_callbacks(execute=True):
        ana.post(
            url("tickets:reply", ticket.pk),
            {
                "text": "On it!",
                "idempotency_key": hidden(ana_page, "idempotency_key"),
                "seen_post_id": hidden(ana_page, "seen_post_id"),
            },
        )
    response = lee.post(
        url("tickets:reply", ticket.pk),
        {
            "text": "Looking now",
            "idempotency_key": hidden(lee_page, "idempotency_key"),
            "seen_post_id": hidden(lee_page, "seen_post_id"),
            "reason": "ana is off today",
        },
    )
    assert response.status_code == 409
    page = unescape(html(response))
    assert "ana's reply to this post is already sent: https://x.com/Driftwood/status/" in page
    assert "@Driftwood replied “On it!” since you opened it." in page
    assert len(desk.store.posts(author="Driftwood")) == 1


def test_an_answered_post_offers_send_another_reply_which_goes_out(
    desk: SandboxServer,
    ticket: Ticket,
    ana: Client,
    django_capture_on_commit_callbacks: OnCommit,
) -> None:
    first = inbound(ticket)
    driftwood = desk.store.user_by_username("Driftwood")["id"]  # type: ignore[index]
    outside = desk.store.post_create(driftwood, "@maya fixed!", in_reply_to=first.remote_id)
    ingest()
    page = html(ana.get(url("tickets:detail", ticket.pk)))
    form = {
        "text": "And the docs: https://driftwood.dev/docs/push",
        "idempotency_key": hidden(page, "idempotency_key"),
        "seen_post_id": hidden(page, "seen_post_id"),
    }
    response = ana.post(url("tickets:reply", ticket.pk), form)
    assert response.status_code == 409
    page = unescape(html(response))
    assert "Not sent — this post is already answered:" in page
    assert f"@Driftwood answered from another client: {post_url(outside)}" in page
    assert 'name="another_reply"' in page and "Send another reply" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = ana.post(url("tickets:reply", ticket.pk), {**form, "another_reply": "on"})
    assert response.status_code == 302
    assert len(desk.store.posts(author="Driftwood")) == 2
    event = ticket.events.get(kind=TicketEvent.Kind.ANOTHER_REPLY)
    assert event.actor is not None and event.actor.username == "ana"
    timeline = html(ana.get(url("tickets:detail", ticket.pk)))
    assert "Another reply confirmed" in timeline and post_url(outside) in timeline


def post_url(post: dict[str, object]) -> str:
    return f"https://x.com/Driftwood/status/{post['id']}"


# No skipping outside Play


@pytest.fixture
def second(desk: SandboxServer, ticket: Ticket) -> Ticket:
    """A ticket behind `ticket` in the Twitter view: Play gives `ticket` first."""
    desk.store.mention_add("kai", "@Driftwood where do I find the runner logs?")
    ingest()
    return Ticket.objects.get(requester_username="kai")


def test_taking_a_ticket_out_of_order_asks_why_and_audits_it(
    ticket: Ticket, second: Ticket, ana: Client, advocate: User
) -> None:
    page = text_of(ana.get(url("tickets:detail", second.pk)))
    ask = f"Play gives you #{ticket.pk} next: say why you take this one out of order."
    assert ask in page, "Assign to me and the composer say why a reason is asked"
    assert 'id="take-reason"' in html(ana.get(url("tickets:detail", second.pk)))

    response = ana.post(url("tickets:assign", second.pk), {"reason": "  "})
    assert response.status_code == 400
    assert ask in text_of(response)
    second.refresh_from_db()
    assert second.assignee is None

    response = ana.post(url("tickets:assign", second.pk), {"reason": "kai asked in chat"})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.assignee == advocate
    taken = second.events.get(kind=TicketEvent.Kind.TAKEN_OUT_OF_ORDER)
    assert (taken.actor, taken.message) == (advocate, "kai asked in chat")
    assert taken.data["play_next"] == ticket.pk


def test_the_head_of_the_queue_is_taken_without_a_reason(ticket: Ticket, ana: Client) -> None:
    page = html(ana.get(url("tickets:detail", ticket.pk)))
    assert 'id="take-reason"' not in page and 'id="reply-reason"' not in page
    assert ana.post(url("tickets:assign", ticket.pk)).status_code == 302
    assert not ticket.events.filter(kind=TicketEvent.Kind.TAKEN_OUT_OF_ORDER).exists()


def test_replying_out_of_order_needs_the_reason_in_the_composer(
    ticket: Ticket,
    second: Ticket,
    ana: Client,
    advocate: User,
    django_capture_on_commit_callbacks: OnCommit,
) -> None:
    page = html(ana.get(url("tickets:detail", second.pk)))
    assert 'id="reply-reason"' in page
    form = {
        "text": "Logs are under Settings → Runners.",
        "idempotency_key": hidden(page, "idempotency_key"),
        "seen_post_id": hidden(page, "seen_post_id"),
    }
    response = ana.post(url("tickets:reply", second.pk), form)
    assert response.status_code == 400
    assert "say why you take this one out of order" in text_of(response)
    assert "Logs are under Settings → Runners.</textarea>" in unescape(html(response))
    assert Reply.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        response = ana.post(url("tickets:reply", second.pk), {**form, "reason": "a quick one"})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.assignee == advocate
    assert second.events.get(kind=TicketEvent.Kind.TAKEN_OUT_OF_ORDER).data["via"] == "reply"


def test_advocates_cannot_answer_a_ticket_someone_else_holds(held: Ticket, advocate2: User) -> None:
    ben = signed_in(advocate2)
    page = ben.get(url("tickets:detail", held.pk))
    refusal = f"Ticket #{held.pk} is assigned to ana: only they answer it."
    assert refusal in text_of(page)
    assert 'placeholder="You cannot reply on this ticket."' in html(page)
    response = ben.post(
        url("tickets:reply", held.pk),
        {"text": "I can take this", "idempotency_key": str(uuid.uuid4())},
    )
    assert response.status_code == 403
    assert refusal in text_of(response)
    assert Reply.objects.count() == 0


def test_the_policy_can_forbid_taking_out_of_order(
    ticket: Ticket, second: Ticket, ana: Client
) -> None:
    policy_actions.policy_apply_text(
        text=DESK_POLICY + '\n[rules]\nout_of_order = "never"\n', source="never.toml"
    )
    page = text_of(ana.get(url("tickets:detail", second.pk)))
    assert f"Play gives you #{ticket.pk} next: take tickets of the Twitter view with Next" in page
    response = ana.post(url("tickets:assign", second.pk), {"reason": "I really want it"})
    assert response.status_code == 403
    second.refresh_from_db()
    assert second.assignee is None


# Presence


def test_presence_shows_who_else_is_viewing_and_typing(
    ticket: Ticket, ana: Client, advocate2: User
) -> None:
    presence = url("tickets:presence", ticket.pk)
    page = html(ana.get(url("tickets:detail", ticket.pk)))
    assert f'hx-post="{presence}" hx-trigger="load, every 5s, typing"' in page

    ben = signed_in(advocate2)
    assert ben.post(presence, {"is_typing": "1"}).status_code == 200
    response = ana.post(presence, {"is_typing": ""}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    badges = html(response)
    assert "<html" not in badges
    assert "ben is typing…" in badges and "ana is" not in badges

    ben.post(presence, {"is_typing": ""})
    assert "ben is viewing" in html(ana.post(presence))
    assert "ana is viewing" in html(ben.post(presence))


# Strict play


def test_next_ticket_on_the_held_ticket_says_to_finish_or_hand_it_back(
    desk: SandboxServer, held: Ticket, ana: Client
) -> None:
    desk.store.mention_add("sam", "@Driftwood how do I rotate a runner token?")
    ingest()
    response = ana.post(url("tickets:next"), {"view": "twitter", "current": held.pk}, follow=True)
    assert response.redirect_chain[-1][0] == url("tickets:detail", held.pk)
    assert "Finish or hand back this ticket first" in html(response)
    assert f'name="current" value="{held.pk}"' in html(response)

    # Play from the queue (not the held ticket's page) just takes the agent back to it.
    response = ana.post(url("tickets:next"), {"view": "twitter"}, follow=True)
    assert response.redirect_chain[-1][0] == url("tickets:detail", held.pk)
    assert "Finish or hand back" not in html(response)


# Status updates


def test_status_page_refuses_advocates_with_the_reason(desk: SandboxServer, ana: Client) -> None:
    response = ana.get(url("replies:status"))
    assert response.status_code == 200
    page = html(response)
    assert "You cannot post status updates" in page
    assert "Only infrastructure users post status updates." in page
    assert url("replies:status_create") not in page

    response = ana.post(url("replies:status_create"), {"text": "All good", "incident_url": ""})
    assert response.status_code == 403
    assert "only infrastructure users post status updates" in html(response)
    assert Reply.objects.count() == 0


def test_status_update_by_infrastructure_with_follow_ups(
    desk: SandboxServer,
    infrastructure: User,
    ana: Client,
    django_capture_on_commit_callbacks: OnCommit,
) -> None:
    desk.store.mention_add("maya", "@DriftwoodStatus is the site down?")
    ingest()
    report = Ticket.objects.get()
    ana.post(url("tickets:intent", report.pk), {"intent": "availability"})

    ivan = signed_in(infrastructure)
    page = html(ivan.get(url("replies:status")))
    assert 'Post from <strong class="handle">@DriftwoodStatus</strong>' in page
    assert 'title="Open tickets marked as availability">1</span>' in page
    assert "Follow up on every open availability ticket" in page

    response = ivan.post(
        url("replies:status_create"), {"text": "Investigating", "incident_url": "status.example"}
    )
    assert response.status_code == 400
    assert "the incident link must be an http(s) URL" in html(response)

    with django_capture_on_commit_callbacks(execute=True):
        response = ivan.post(
            url("replies:status_create"),
            {
                "text": "We are investigating elevated error rates on git pushes.",
                "incident_url": "https://status.example.com/incidents/42",
                "follow_up_open_reports": "on",
            },
        )
    assert response.status_code == 302 and response["Location"] == url("replies:status")
    update = Reply.objects.get(kind=Reply.Kind.STATUS_UPDATE)
    assert update.status == Reply.Status.SENT
    posted, follow_up_post = desk.store.posts(author="DriftwoodStatus")
    assert posted["text"].startswith("We are investigating")
    assert "referenced_tweets" not in posted, "an update answers nobody"
    assert "posted an update on this" in follow_up_post["text"]

    page = html(ivan.get(url("replies:status")))
    assert "Status update queued from @DriftwoodStatus." in page
    assert f'data-update-id="{update.pk}" data-update-status="sent"' in page
    assert f"https://x.com/DriftwoodStatus/status/{posted['id']}" in page
    assert "1 follow-up queued" in page
    assert 'href="https://status.example.com/incidents/42"' in page
    follow_up = Reply.objects.get(ticket=report)
    assert "https://status.example.com/incidents/42" in follow_up.text
    # The list polls itself, alone, for htmx.
    partial = ivan.get(url("replies:status"), headers={"HX-Request": "true"})
    assert "<html" not in html(partial) and 'id="status-updates"' in html(partial)


# The stream


def test_stream_lists_posts_and_answers_inline_once(
    desk: SandboxServer,
    ana: Client,
    django_capture_on_commit_callbacks: OnCommit,
) -> None:
    post_id = desk.store.mention_add("kim", "@MoveToDriftwood how do I import my repos?")
    ingest()
    response = ana.get(url("replies:stream"))
    page = html(response)
    assert "Stream" in page and "@MoveToDriftwood" in page
    assert "how do I import my repos?" in page
    assert 'hx-trigger="every 5s"' in page and "data-pause-while-typing" in page
    reply_url = url("replies:stream_reply", post_id)
    assert reply_url in page
    key = re.search(
        rf'action="{re.escape(reply_url)}".*?name="idempotency_key" value="([^"]+)"', page, re.S
    )
    assert key and key.group(1).endswith(f"-{post_id}")

    poll = ana.get(url("replies:stream"), headers={"HX-Request": "true"})
    assert "<html" not in html(poll) and "how do I import my repos?" in html(poll)
    assert "HX-Request" in poll["Vary"]

    form = {"text": "Here is the import guide!", "idempotency_key": key.group(1)}
    with django_capture_on_commit_callbacks(execute=True):
        response = ana.post(reply_url, form)
        again = ana.post(reply_url, form)  # a double click: same key, same reply
    assert response.status_code == 302 and again.status_code == 302
    (posted,) = desk.store.posts(author="MoveToDriftwood")
    assert posted["referenced_tweets"] == [{"type": "replied_to", "id": post_id}]
    page = html(ana.get(url("replies:stream")))
    assert "Reply queued from @MoveToDriftwood to @kim." in page
    assert "data-answered" in page and reply_url not in page

    # Another agent's stale form: the collision guard stops it, shown inline.
    response = ana.post(reply_url, {"text": "Hi Kim!", "idempotency_key": str(uuid.uuid4())})
    assert response.status_code == 409
    page = unescape(html(response))
    assert "Not sent — this post is already answered:" in page
    assert "reply to this post is already sent: https://x.com/MoveToDriftwood/status/" in page
    assert 'name="another_reply"' in page, "a second answer is one confirmation away"
    assert len(desk.store.posts(author="MoveToDriftwood")) == 1


def test_stream_query_count_does_not_grow_with_posts(
    desk: SandboxServer, ana: Client, django_assert_max_num_queries: Any
) -> None:
    for i in range(30):
        desk.store.mention_add(f"user{i}", f"@MoveToDriftwood question {i}")
    ingest()
    with django_assert_max_num_queries(12):
        page = html(ana.get(url("replies:stream")))
    assert page.count('class="stream-post') == 30
    with django_assert_max_num_queries(12):
        ana.get(url("replies:stream"), headers={"HX-Request": "true"})


def test_stream_like_follows_the_same_rule(desk: SandboxServer, ana: Client) -> None:
    post_id = desk.store.mention_add("kim", "@MoveToDriftwood hello")
    ingest()
    response = ana.post(url("replies:stream_like", post_id), {"reason": ""})
    assert response.status_code == 400
    page = html(response)
    assert "likes are for positive feedback" in page
    assert f'<details class="post-action" id="like-{post_id}" open>' in page
    response = ana.post(url("replies:stream_like", post_id), {"reason": "Friendly hello"})
    assert response.status_code == 302
    assert PostAction.objects.get().reason == "Friendly hello"
    assert ana.post(url("replies:stream_like", "404404"), {"reason": "x"}).status_code == 404


def test_stream_reply_errors_keep_the_text(desk: SandboxServer, ana: Client) -> None:
    post_id = desk.store.mention_add("kim", "@MoveToDriftwood hello")
    ingest()
    response = ana.post(
        url("replies:stream_reply", post_id),
        {"text": "y" * 281, "idempotency_key": "k-1"},
    )
    assert response.status_code == 400
    page = html(response)
    assert "X allows 280" in page and "y" * 281 + "</textarea>" in page
    assert 'value="k-1"' in page


# Sidebar


def test_sidebar_links_to_stream_status_and_audit_for_leads(
    desk: SandboxServer, ana: Client, lead: User
) -> None:
    page = html(ana.get(url("tickets:queue")))
    assert f'href="{url("replies:stream")}"' in page and "@MoveToDriftwood</small>" in page
    assert f'href="{url("replies:status")}"' in page
    assert f'href="{url("audit:events")}"' not in page
    assert f'href="{url("audit:events")}"' in html(signed_in(lead).get(url("tickets:queue")))


# Agents see the work; leads and admins also see what runs the desk


def test_setting_names_costs_and_the_models_workings_are_shown_to_leads_only(
    slack_off: None, ticket: Ticket, ana: Client, lead: User
) -> None:
    triage_services.posts_triage(posts=ticket.posts.all())  # what ingest's task does
    diagnostics = {
        "setting names": SETTINGS,
        "the ticket's X API cost": "X API cost",
        "triage's confidence and model": "Labelled by",
        "the model's features": "Why:",
        "the command that exports corrections": "mentiondesk triage export",
    }
    agent_page = text_of(ana.get(url("tickets:detail", ticket.pk)))
    lead_page = text_of(signed_in(lead).get(url("tickets:detail", ticket.pk)))
    assert {what for what, text in diagnostics.items() if text in agent_page} == set()
    assert {what for what, text in diagnostics.items() if text not in lead_page} == set()
    # Both see the work itself: the label and that Slack is off.
    for page in (agent_page, lead_page):
        assert "Slack is not configured" in page
        assert "Bug report" in page or "Availability" in page
