"""The demo on all three networks (issue 17, item 5): `demo_start` in this process starts the X,
Mastodon and Bluesky sandboxes with Driftwood's handles and a script player each; a poll makes
tickets on every network, and a reply from a Mastodon or Bluesky handle reaches its sandbox
once, threaded to the requester's post; "View on Mastodon / Bluesky" opens the sandbox's page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Post
from mentiondesk.desk.demo import POLICY, Demo
from mentiondesk.policy.schema import policy_parse
from mentiondesk.replies import services
from mentiondesk.replies.models import Reply
from mentiondesk.sandbox import bluesky_script, mastodon_script
from mentiondesk.tickets.models import Ticket
from tests.open_networks import poll
from tests.running_demo import demo_running, demo_script_stop, demo_worker_stop

# The demo's worker thread runs against the same database as the test: a real commit each.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Demo]:
    """The demo started in this process, its worker stopped after its first pass (the test
    polls and delivers itself)."""
    with demo_running(settings=settings, monkeypatch=monkeypatch) as started:
        demo_worker_stop(started)
        yield started


def sent_once(reply: Reply) -> Reply:
    """Deliver `reply`, then try again and drain the outbox: it must still be one post."""
    reply = services.reply_deliver(reply_id=reply.pk)
    assert reply.status == Reply.Status.SENT
    services.reply_deliver(reply_id=reply.pk)
    services.outbox_drain()
    return reply


def test_a_poll_makes_tickets_on_all_three_networks(demo: Demo) -> None:
    poll()
    networks = set(Ticket.objects.values_list("network", flat=True))
    assert networks == {"x", "mastodon", "bluesky"}
    # Mastodon's held mention (the script's next, from an account we do not follow) and its
    # direct one are tickets like any other.
    player = next(p for p in demo.networks.players if p.name == "sandbox-mastodon-script")
    player.step()
    poll()
    assert Ticket.objects.filter(network="mastodon", requester_username="yuki_t").exists()
    assert Ticket.objects.filter(
        network="mastodon", requester_username="fatima_sec", posts__raw__visibility="direct"
    ).exists()


def test_replies_from_the_open_networks_reach_their_sandbox_once(demo: Demo) -> None:
    poll()
    ana = User.objects.get(username="ana")

    ticket = Ticket.objects.get(network="mastodon", requester_username="fatima_sec")
    # Not Play's next: the direct mention is the one whose audience the reply must keep.
    reply = services.reply_create(
        ticket=ticket, author=ana, text="Sorry! Mailing you now.", reason="the direct one"
    )
    sent_once(reply)
    store = demo.networks.mastodon.store
    driftwood = store.account_by_username("driftwood")
    assert driftwood is not None
    ours = [s for s in store.statuses_by(driftwood.id) if "Mailing you now" in s["text"]]
    assert len(ours) == 1
    assert ours[0]["visibility"] == "direct", "an answer to a direct mention stays direct"
    assert store.statuses[ours[0]["in_reply_to_id"]]["account_id"] == (
        store.account_by_username("fatima_sec").id  # type: ignore[union-attr]
    )

    ticket = Ticket.objects.get(network="bluesky", requester_username=_bsky("marta_dev"))
    reply = sent_once(
        services.reply_create(
            ticket=ticket, author=ana, text="Fix is rolling out.", reason="a threaded one"
        )
    )
    bluesky = demo.networks.bluesky.store
    assert bluesky is not None
    posted = [p for p in bluesky.posts_by("driftwood.dev") if p["value"]["text"].startswith("Fix")]
    assert len(posted) == 1
    parent = bluesky.post_get(posted[0]["value"]["reply"]["parent"]["uri"])
    assert parent is not None and parent["author"] == _bsky("marta_dev")
    assert reply.post is not None and reply.post.remote_id == posted[0]["uri"]


def _bsky(username: str) -> str:
    return bluesky_script.person_handle(username)


def test_the_policy_names_the_sandbox_accounts() -> None:
    policy = policy_parse(text=POLICY.read_text(), source=str(POLICY))
    names = {(e["network"], e["username"], e["role"]) for e in policy.handles}
    assert {("mastodon", u, r) for u, r, _ in mastodon_script.HANDLES} <= names
    assert {("bluesky", u, r) for u, r, _ in bluesky_script.HANDLES} <= names


def test_view_on_mastodon_and_bluesky_lead_to_the_sandboxes_post_pages(demo: Demo) -> None:
    poll()
    for sandbox_url, network, author, said in (
        (demo.networks.mastodon.url, "mastodon", "nico_rs", "code search is unbelievably fast"),
        (demo.networks.bluesky.url, "bluesky", _bsky("marta_dev"), "diff view crashes on files"),
    ):
        post = Post.objects.get(network=network, author_username=author)
        assert post.url.startswith(f"{sandbox_url}/"), post.url
        page = httpx.get(post.url)
        assert page.status_code == 200, post.url
        assert said in page.text


def test_a_follow_up_joins_its_ticket_and_the_next_answer_threads_to_it(demo: Demo) -> None:
    demo_script_stop(demo)
    poll()
    ana = User.objects.get(username="ana")
    fatima = Ticket.objects.get(network="mastodon", requester_username="fatima_sec")
    marta = Ticket.objects.get(network="bluesky", requester_username=_bsky("marta_dev"))
    for ticket in (fatima, marta):
        sent_once(services.reply_create(ticket=ticket, author=ana, text="On it.", reason="1st"))
    for player in demo.networks.players:
        player.follow_up_chance = 1.0  # every requester answers our reply
        player.step()
    poll()

    replies = {}
    for ticket in (fatima, marta):
        latest = ticket.posts.filter(direction=Post.Direction.INBOUND).order_by("created_at")
        assert latest.count() == 2, "the follow-up joined the ticket"
        replies[ticket.network] = sent_once(
            services.reply_create(ticket=ticket, author=ana, text="Thanks, noted.", reason="2nd")
        )

    store = demo.networks.mastodon.store
    requester = store.account_by_username("fatima_sec")
    assert requester is not None
    follow_up = store.statuses_by(requester.id)[-1]
    answer = store.statuses[replies["mastodon"].post.remote_id]  # type: ignore[union-attr]
    assert answer["in_reply_to_id"] == follow_up["id"]
    assert answer["visibility"] == follow_up["visibility"] == "direct"

    bluesky = demo.networks.bluesky.store
    assert bluesky is not None
    first, follow = (
        bluesky.posts_by(_bsky("marta_dev"))[0],
        bluesky.posts_by(_bsky("marta_dev"))[-1],
    )
    posted = bluesky.post_get(replies["bluesky"].post.remote_id)  # type: ignore[union-attr]
    assert posted is not None
    assert posted["value"]["reply"]["parent"]["uri"] == follow["uri"]
    assert posted["value"]["reply"]["root"]["uri"] == first["uri"]
