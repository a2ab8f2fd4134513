"""Replies on Mastodon and Bluesky, through the real connectors against the sandboxes: one
post per reply, threaded to the requester's latest post (in_reply_to_id and the mirrored
visibility on Mastodon, parent and root strong refs on Bluesky), at most once when a send
fails after the network wrote it, one answer per post, the handle roles as on X."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.test import Client
from django.utils import timezone

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from mentiondesk.channels.connectors.bluesky import rkey_for
from mentiondesk.core.errors import DomainError
from mentiondesk.replies import services
from mentiondesk.replies.models import DeliveryAttempt, PostAction, Reply
from mentiondesk.replies.services.create import Collision
from mentiondesk.tickets.models import Ticket, TicketEvent
from tests.open_networks import BlueskyNet, MastodonNet, Network, poll
from tests.sandboxes import mastodon_requests_to

pytestmark = pytest.mark.django_db


def conversation(net: Network) -> tuple[Ticket, str, str]:
    """A ticket whose requester wrote twice: the ticket, the first and the latest post."""
    first = net.mention("@main pushing to main fails with a 502")
    latest = net.mention("@main still failing, any news?", reply_to=first)
    poll()
    return Ticket.objects.get(network=net.name), first, latest


def deliver(reply: Reply) -> Reply:
    return services.reply_deliver(reply_id=reply.pk)


def test_a_reply_goes_out_once_threaded_to_the_latest_post(net: Network, advocate: User) -> None:
    ticket, first, latest = conversation(net)
    reply = services.reply_create(ticket=ticket, author=advocate, text="Sorry, looking now.")
    assert deliver(reply).status == Reply.Status.SENT
    (posted,) = net.ours()
    assert posted["parent"] == latest
    if isinstance(net, MastodonNet):
        # Mastodon adds no mention to a reply: the desk addresses it to the requester.
        assert posted["text"] == "@ana Sorry, looking now."
        assert posted["visibility"] == "public"
    else:
        assert posted["root"] == first
        assert posted["text"] == "Sorry, looking now."
    reply.refresh_from_db()
    assert reply.post is not None and reply.post.remote_id == posted["id"]
    sent = ticket.events.get(kind=TicketEvent.Kind.REPLY_SENT)
    assert sent.data["url"] == reply.post.url

    # Delivered again, drained, polled: still one post, and the read-back stores no copy.
    deliver(reply)
    services.outbox_drain()
    poll()
    assert len(net.ours()) == 1
    ticket.refresh_from_db()
    assert ticket.posts.filter(remote_id=posted["id"]).count() == 1


def test_a_reply_to_a_direct_mention_stays_direct(
    open_desk: tuple[MastodonNet, BlueskyNet], advocate: User
) -> None:
    mastodon, _ = open_desk
    mastodon.mention("@main my API key leaked, what now?", visibility="direct")
    poll()
    ticket = Ticket.objects.get(network="mastodon")
    reply = services.reply_create(ticket=ticket, author=advocate, text="Revoke it in settings.")
    assert deliver(reply).status == Reply.Status.SENT
    (posted,) = mastodon.ours()
    assert posted["visibility"] == "direct", "never answered in public"


def test_a_send_that_failed_after_the_write_is_retried_with_the_same_key_into_one_post(
    net: Network, advocate: User
) -> None:
    ticket, _, latest = conversation(net)
    reply = services.reply_create(ticket=ticket, author=advocate, text="Fixed now, sorry!")
    net.fail_next_send(after_write=True)  # the post is made, the answer says 500
    reply = deliver(reply)
    if isinstance(net, MastodonNet):
        # The outcome is unknown, but the Idempotency-Key makes a second send harmless:
        # queued again (not parked for a person), and sent again with the same key.
        assert reply.status == Reply.Status.QUEUED
        last = reply.attempts_log.order_by("-pk").first()
        assert last is not None and last.outcome == DeliveryAttempt.Outcome.UNKNOWN
        Reply.objects.filter(pk=reply.pk).update(not_before=None)
        reply = deliver(reply)
        sends = mastodon_requests_to(net.server.store, "POST", "/api/v1/statuses")
        assert len(sends) == 2
        assert {r.idempotency_key for r in sends} == {reply.idempotency_key}
    else:
        # The connector reads the record back under the reply's own key: it is there.
        assert net.server.store.calls("com.atproto.repo.getRecord") == 1
    assert reply.status == Reply.Status.SENT
    (posted,) = net.ours()
    assert posted["parent"] == latest
    assert reply.post is not None and reply.post.remote_id == posted["id"]
    if isinstance(net, BlueskyNet):
        assert posted["rkey"] == rkey_for(created_at=reply.created_at, seed=reply.pk)
    assert ticket.events.filter(kind=TicketEvent.Kind.REPLY_SENT).count() == 1


def test_a_send_refused_before_the_write_goes_out_later_once(net: Network, advocate: User) -> None:
    ticket, _, latest = conversation(net)
    reply = services.reply_create(ticket=ticket, author=advocate, text="On it.")
    net.fail_next_send(after_write=False)  # 500, nothing made
    reply = deliver(reply)
    assert reply.status == Reply.Status.QUEUED
    assert net.ours() == []
    Reply.objects.filter(pk=reply.pk).update(not_before=None)
    assert deliver(reply).status == Reply.Status.SENT
    (posted,) = net.ours()
    assert posted["parent"] == latest


def test_one_answer_per_post(net: Network, advocate: User, advocate2: User, lead: User) -> None:
    ticket, _, _ = conversation(net)
    deliver(services.reply_create(ticket=ticket, author=advocate, text="Looking now."))
    with pytest.raises(Collision) as excinfo:
        services.reply_create(ticket=ticket, author=advocate, text="Me again.")
    assert excinfo.value.code == "already_answered"
    # A deliberate second answer is confirmed explicitly, as on X.
    again = services.reply_create(
        ticket=ticket, author=advocate, text="One more thing.", another_reply=True
    )
    assert deliver(again).status == Reply.Status.SENT
    assert len(net.ours()) == 2


def test_status_handle_mentions_are_answered_from_main_by_advocates(
    net: Network, advocate: User, infrastructure: User
) -> None:
    net.mention("@status is the API down?")
    poll()
    ticket = Ticket.objects.get(network=net.name)
    assert ticket.handle.username == net.status
    reply = services.reply_create(ticket=ticket, author=advocate, text="Checking, one moment.")
    assert reply.handle.username == net.main
    assert deliver(reply).status == Reply.Status.SENT
    assert len(net.ours(net.main)) == 1
    assert net.ours(net.status) == []


def test_text_is_counted_by_the_networks_rule(net: Network, advocate: User) -> None:
    ticket, _, _ = conversation(net)
    limit = {"mastodon": 500, "bluesky": 300}[net.name]
    # Graphemes, not code points: a family emoji is one character on both networks.
    family = "\N{MAN}\N{ZERO WIDTH JOINER}\N{WOMAN}\N{ZERO WIDTH JOINER}\N{GIRL}"
    room = limit - (len("@ana ") if net.name == "mastodon" else 0)
    fits = services.reply_create(ticket=ticket, author=advocate, text=family * room)
    assert fits.pk
    Reply.objects.filter(pk=fits.pk).delete()
    label = {"mastodon": "Mastodon", "bluesky": "Bluesky"}[net.name]
    with pytest.raises(DomainError, match=f"on {label} .*{label} allows {limit}"):
        services.reply_create(ticket=ticket, author=advocate, text="a" * (limit + 1))


def test_the_api_takes_a_percent_encoded_post_uri(
    net: Network, advocate: User, client: Client
) -> None:
    first = net.mention("@main you are great!")
    poll()
    _, token = account_services.token_create(user=advocate)
    response = client.post(
        f"/api/v1/posts/{quote(first, safe='')}/like",
        data={"reason": "a thank-you"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 201, response.content
    assert response.json()["post"] == first
    action = PostAction.objects.get()
    assert action.post.remote_id == first
    # The like itself, through the network's connector: a favourite, a like record.
    assert services.post_action_run(action_id=action.pk).status == PostAction.Status.DONE
    if isinstance(net, MastodonNet):
        assert any(status == first for _, status in net.server.store.favourites)
    else:
        assert isinstance(net, BlueskyNet)
        (like,) = net.server.store.likes_by(net.main)
        assert like["subject"]["uri"] == first


def test_past_the_instances_key_window_the_send_is_searched_for_not_repeated(
    open_desk: tuple[MastodonNet, BlueskyNet], advocate: User
) -> None:
    """Mastodon keeps an Idempotency-Key an hour: later, sending again could post twice, so
    the desk looks for the post among the handle's own instead (as on X)."""
    mastodon, _ = open_desk
    ticket, _, latest = conversation(mastodon)
    reply = services.reply_create(ticket=ticket, author=advocate, text="Fixed now, sorry!")
    mastodon.fail_next_send(after_write=True)
    reply = deliver(reply)
    assert reply.status == Reply.Status.QUEUED
    two_hours_ago = timezone.now() - timedelta(hours=2)
    DeliveryAttempt.objects.filter(reply=reply).update(request_started_at=two_hours_ago)
    Reply.objects.filter(pk=reply.pk).update(not_before=None)

    reply = deliver(reply)
    assert reply.status == Reply.Status.SENT
    last = reply.attempts_log.order_by("-pk").first()
    assert last is not None and last.outcome == DeliveryAttempt.Outcome.RECONCILED_FOUND
    assert len(mastodon_requests_to(mastodon.server.store, "POST", "/api/v1/statuses")) == 1
    (posted,) = mastodon.ours()
    assert posted["parent"] == latest
    assert reply.post is not None and reply.post.remote_id == posted["id"]


def test_our_post_polled_in_before_a_retry_is_the_reply_itself_not_a_collision(
    net: Network, advocate: User
) -> None:
    """Found by `make chaos`: a send written but answered 500 is queued again; a later try is
    refused before anything leaves (rate limited); meanwhile the requester answers our post and
    the poll stores it with its parent, our post. That
    post is this reply's own send, not another client's answer: the reply is recorded sent,
    never parked as "Not sent: @driftwood replied …", and the network holds one post."""
    ticket, _, latest = conversation(net)
    reply = services.reply_create(ticket=ticket, author=advocate, text="Fixed now, sorry!")
    net.fail_next_send(after_write=True)
    if isinstance(net, BlueskyNet):  # the read-back fails too: the outcome stays unknown
        net.server.store.fault("status", path="/xrpc/com.atproto.repo.getRecord", status=503)
    reply = deliver(reply)
    assert reply.status == Reply.Status.QUEUED
    last = reply.attempts_log.order_by("-pk").first()
    assert last is not None and last.outcome == DeliveryAttempt.Outcome.UNKNOWN

    # Refused before anything left; the window resets at once, so the poll below may read.
    if isinstance(net, MastodonNet):
        net.server.store.fault_add(
            "status", method="POST", path="/api/v1/statuses", status=429, reset_in=0
        )
    else:
        assert isinstance(net, BlueskyNet)
        net.server.store.fault(
            "ratelimited", path="/xrpc/com.atproto.repo.createRecord", reset_in=0
        )
    Reply.objects.filter(pk=reply.pk).update(not_before=None)
    reply = deliver(reply)
    assert reply.status == Reply.Status.QUEUED, reply.reason
    last = reply.attempts_log.order_by("-pk").first()
    assert last is not None and last.outcome == DeliveryAttempt.Outcome.RATE_LIMITED

    # The requester answers our post: the poll stores it with our post, its parent.
    (posted,) = net.ours()
    net.mention("@main thanks, works now", reply_to=posted["id"])
    poll()
    stored = ticket.posts.get(remote_id=posted["id"])
    Reply.objects.filter(pk=reply.pk).update(not_before=None)
    reply = deliver(reply)
    assert reply.status == Reply.Status.SENT, reply.reason
    assert reply.post == stored
    assert len(net.ours()) == 1
    assert posted["parent"] == latest
    assert ticket.events.filter(kind=TicketEvent.Kind.REPLY_SENT).count() == 1
