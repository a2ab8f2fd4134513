"""`mentiondesk poll` on Mastodon and Bluesky handles, through the real connectors against the
sandboxes: mentions become tickets and follow-ups join them exactly as on X; checkpoints
follow each network's rule; nothing is read twice, nothing metered, no DMs asked for."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from mentiondesk.channels.connectors.bluesky import bluesky_state_clear
from mentiondesk.channels.credentials import services as credential_services
from mentiondesk.channels.models import Handle, HandleCredential, IngestProblem, Post
from mentiondesk.costs.models import XApiUsage
from mentiondesk.intake import ingest
from mentiondesk.tickets.models import Ticket, TicketEvent
from tests.open_networks import BlueskyNet, MastodonNet, Network, poll

pytestmark = pytest.mark.django_db


def test_a_mention_opens_a_ticket_and_a_follow_up_joins_it(net: Network) -> None:
    first = net.mention("@main my export fails with a 500")
    poll()
    ticket = Ticket.objects.get(network=net.name)
    assert ticket.handle.username == net.main
    assert ticket.requester_username.startswith("ana")
    assert ticket.status == Ticket.Status.NEW
    post = Post.objects.get(network=net.name, remote_id=first)
    assert post.ticket == ticket
    assert post.direction == Post.Direction.INBOUND
    assert "my export fails" in post.text

    follow_up = net.mention("@main still failing, any news?", reply_to=first)
    poll()
    assert Ticket.objects.filter(network=net.name).count() == 1
    assert Post.objects.get(network=net.name, remote_id=follow_up).ticket == ticket
    assert ticket.events.filter(kind=TicketEvent.Kind.FOLLOW_UP).count() == 1

    # Polled again: nothing new, nothing stored twice, nothing kept as a problem.
    poll()
    assert Post.objects.filter(network=net.name).count() == 2
    assert not IngestProblem.objects.exists()


def test_another_customer_in_the_thread_gets_a_ticket_of_their_own(net: Network) -> None:
    first = net.mention("@main the dashboard is blank")
    net.mention("@main same here", reply_to=first, who="kofi")
    poll()
    requesters = set(
        Ticket.objects.filter(network=net.name).values_list("requester_username", flat=True)
    )
    assert len(requesters) == 2


def test_a_post_to_main_and_status_opens_one_ticket_on_main(net: Network) -> None:
    """The handbook's rule, as on X: a post mentioning several handles is answered from main."""
    net.mention("@main @status is the API down?")
    poll()
    ticket = Ticket.objects.get(network=net.name)
    assert ticket.handle.username == net.main


def test_checkpoints_follow_the_networks_rule_and_calls_are_not_metered(
    open_desk: tuple[MastodonNet, BlueskyNet],
) -> None:
    mastodon, bluesky = open_desk
    mastodon.mention("@main hello from mastodon")
    bluesky.mention("@main hello from bluesky")
    poll()
    toot = Handle.objects.get(network="mastodon", username="driftwood")
    sky = Handle.objects.get(network="bluesky", username="driftwood.test")
    assert toot.since_id.isdigit(), "a Mastodon checkpoint is a notification id"
    moment, _, uri = sky.since_id.partition("|")
    assert moment and uri.startswith("at://"), "a Bluesky checkpoint is <indexedAt>|<uri>"
    assert sky.remote_id.startswith("did:plc:")
    assert toot.remote_id.isdigit()
    # Calls to networks that cost nothing are not metered (X's are: tests/costs).
    assert not XApiUsage.objects.exists()

    # A newer mention moves each checkpoint forward; an older one never moves it back.
    seen = (toot.since_id, sky.since_id)
    mastodon.mention("@main again")
    bluesky.mention("@main again")
    poll()
    toot.refresh_from_db()
    sky.refresh_from_db()
    assert int(toot.since_id) > int(seen[0])
    assert sky.since_id > seen[1]
    stored = ingest.mentions_store(handle=sky, posts=[], checkpoint=seen[1])
    assert not stored.error
    sky.refresh_from_db()
    assert sky.since_id > seen[1]


def test_no_direct_messages_are_asked_for(open_desk: tuple[MastodonNet, BlueskyNet]) -> None:
    mastodon, bluesky = open_desk
    mastodon.mention("@main psst, my account id is 42", visibility="direct")
    poll()
    # A Mastodon DM is a direct mention: it opens a ticket like any mention.
    post = Post.objects.get(network="mastodon")
    assert post.raw["visibility"] == "direct"
    assert post.ticket is not None
    assert not [r for r in mastodon.server.store.requests if "conversations" in r.path]
    assert not [r for r in bluesky.server.store.request_log() if "chat." in r.path]


def test_our_own_posts_are_read_back_onto_their_tickets(net: Network) -> None:
    """A reply written in the network's own app (not the desk) still answers its ticket."""
    first = net.mention("@main where are the docs?")
    poll()
    ticket = Ticket.objects.get(network=net.name)
    ours = Post.objects.filter(network=net.name, direction=Post.Direction.OUTBOUND)
    assert not ours.exists()
    _post_as_us(net, "They are at docs.example, sorry!", reply_to=first)
    poll()
    (ours_post,) = ours.all()
    assert ours_post.ticket == ticket
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING
    assert ticket.events.filter(kind=TicketEvent.Kind.ANSWERED_ELSEWHERE).exists()


def test_a_follow_up_to_our_reply_joins_the_ticket_it_answers(net: Network) -> None:
    """Mastodon names no conversation: a reply to our reply (stored, so never fetched again)
    is filed by the conversation of the post it answers, not as a new one."""
    first = net.mention("@main where are the docs?")
    poll()
    ticket = Ticket.objects.get(network=net.name)
    ours = _post_as_us(net, "They are at docs.example, sorry!", reply_to=first)
    poll()
    follow_up = net.mention("@main that page is empty for me", reply_to=ours)
    poll()
    assert Ticket.objects.filter(network=net.name).count() == 1
    post = Post.objects.get(network=net.name, remote_id=follow_up)
    assert post.ticket == ticket
    assert post.conversation_id == ticket.conversation_id
    assert ticket.events.filter(kind=TicketEvent.Kind.FOLLOW_UP).count() == 1


def _post_as_us(net: Network, text: str, *, reply_to: str) -> str:
    if isinstance(net, MastodonNet):
        store = net.server.store
        account = store.account_by_username(net.main)
        assert account is not None
        return str(store.status_post(account.id, f"@ana {text}", in_reply_to_id=reply_to)["id"])
    assert isinstance(net, BlueskyNet)
    return net.server.store.post_add(net.main, text, reply_to=reply_to)


def test_post_links_name_the_network(net: Network) -> None:
    first = net.mention("@main hi")
    poll()
    post = Post.objects.get(network=net.name, remote_id=first)
    assert post.network_label == {"mastodon": "Mastodon", "bluesky": "Bluesky"}[net.name]
    if net.name == "mastodon":
        assert post.url == post.raw["url"]
        assert post.url.endswith(f"/@ana/{first}")
    else:
        assert post.url == f"https://bsky.app/profile/ana.test/post/{first.rsplit('/', 1)[1]}"


def test_a_bluesky_session_is_stored_encrypted_and_reused_by_the_next_process(
    open_desk: tuple[MastodonNet, BlueskyNet],
) -> None:
    _, bluesky = open_desk
    bluesky.mention("@main hello")
    poll()
    logins = bluesky.server.store.calls("com.atproto.server.createSession")
    assert logins == 2, "one login per Bluesky handle"
    handle = Handle.objects.get(network="bluesky", username="driftwood.test")
    stored = HandleCredential.objects.get(handle=handle)
    assert "accessJwt" not in stored.secret and "pass-driftwood" not in stored.secret
    assert credential_services.credential_session_get(handle=handle)

    bluesky_state_clear()  # a new process: no session in memory
    bluesky.mention("@main hello again")
    poll()
    assert bluesky.server.store.calls("com.atproto.server.createSession") == logins
    assert Post.objects.filter(network="bluesky").count() == 2


def test_the_poll_command_reads_every_network(open_desk: tuple[MastodonNet, BlueskyNet]) -> None:
    mastodon, bluesky = open_desk
    mastodon.mention("@main hi from the fediverse")
    bluesky.mention("@main hi from the atmosphere")
    out = StringIO()
    call_command("poll", stdout=out)
    lines = out.getvalue().splitlines()
    assert any(line.startswith("@driftwood: stored 1 posts, 1 new tickets") for line in lines)
    assert any(line.startswith("@driftwood.test: stored 1 posts, 1 new tickets") for line in lines)
    assert not [line for line in lines if "stopped" in line]
    assert set(Ticket.objects.values_list("network", flat=True)) == {"mastodon", "bluesky"}


def test_a_pass_on_some_networks_leaves_the_others_unread(
    open_desk: tuple[MastodonNet, BlueskyNet],
) -> None:
    mastodon, bluesky = open_desk
    mastodon.mention("@main pushes fail")
    bluesky.mention("@main pushes fail here too")

    results = ingest.mentions_poll_all(networks=["mastodon"])
    assert {r.handle for r in results} == {mastodon.main, mastodon.status}
    assert set(Ticket.objects.values_list("network", flat=True)) == {"mastodon"}
    assert bluesky.server.store.calls("app.bsky.notification.listNotifications") == 0
