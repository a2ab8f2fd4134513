"""One desk, several networks (issue 17, item 6): the Twitter view keeps the handbook's name, each
network has its own playable view, and "All networks" plays them as one queue; Play keeps its
rules (oldest first, no skipping, one ticket held per view) in each. The sidebar shows a
network's view once the desk has a handle there."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from mentiondesk.actions import policy as policy_actions
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.models import Handle
from mentiondesk.core.errors import DomainError
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets import selectors, services
from mentiondesk.tickets.models import Ticket
from tests.conftest import DESK_POLICY
from tests.factories import remote_post, tickets_from

pytestmark = pytest.mark.django_db

OPEN_HANDLES = """
[[handle]]
network = "mastodon"
username = "driftwood"
instance = "https://social.example"
role = "main"
credentials_env = "MENTIONDESK_MASTODON_TOKEN_DRIFTWOOD"

[[handle]]
network = "bluesky"
username = "driftwood.example"
service = "https://bsky.example"
role = "main"
credentials_env = "MENTIONDESK_BLUESKY_PASSWORD_DRIFTWOOD"
"""

_uris = iter(range(1, 10_000))
# The ticket page's "Next ticket" form, playing `view`.
NEXT_PLAYS = r'name="view" value="{view}">\s*<input type="hidden" name="current"'


@pytest.fixture
def networks(desk: SandboxServer) -> dict[str, Handle]:
    """The desk's X handles and a main handle on Mastodon and on Bluesky, from one policy file
    (the open networks are never called here: tickets are stored through ingest)."""
    policy_actions.policy_apply_text(text=DESK_POLICY + OPEN_HANDLES, source="networks.toml")
    return {
        "x": Handle.objects.get(network="x", username="Driftwood"),
        "mastodon": Handle.objects.get(network="mastodon"),
        "bluesky": Handle.objects.get(network="bluesky"),
    }


def mention(handle: Handle, author: str, minutes: float) -> Ticket:
    """A mention of `handle` from `author`, `minutes` after the base time, stored by ingest;
    its id as the network names it (a Bluesky post by its at:// URI)."""
    remote_id = None
    if handle.network == "bluesky":
        remote_id = f"at://did:plc:{author}/app.bsky.feed.post/3k{next(_uris):011d}"
    (ticket,) = tickets_from(
        handle,
        remote_post(
            author=author, text=f"@{handle.username} help", minutes=minutes, remote_id=remote_id
        ),
    )
    assert ticket.network == handle.network
    return ticket


@pytest.fixture
def mixed(networks: dict[str, Handle]) -> dict[str, list[Ticket]]:
    """Two tickets on each network, interleaved in time: x1 m1 b1 x2 m2 b2."""
    tickets: dict[str, list[Ticket]] = {"x": [], "mastodon": [], "bluesky": []}
    for i in range(2):
        for offset, network in enumerate(("x", "mastodon", "bluesky")):
            tickets[network].append(
                mention(networks[network], f"{network[0]}{i}", minutes=i * 10 + offset)
            )
    return tickets


def ids(tickets: list[Ticket]) -> list[int]:
    return [t.pk for t in tickets]


def test_each_network_has_its_view_and_all_networks_lists_them_oldest_first(
    mixed: dict[str, list[Ticket]],
) -> None:
    assert ids(list(selectors.ticket_list(view="twitter"))) == ids(mixed["x"])
    assert ids(list(selectors.ticket_list(view="mastodon"))) == ids(mixed["mastodon"])
    assert ids(list(selectors.ticket_list(view="bluesky"))) == ids(mixed["bluesky"])
    everything = [t for pair in zip(*mixed.values(), strict=True) for t in pair]
    assert ids(list(selectors.ticket_list(view="all-networks"))) == ids(everything)
    assert selectors.view_of_network(network="mastodon") == "mastodon"
    assert selectors.view_of_network(network="x") == "twitter"


def test_play_takes_each_views_oldest_and_keeps_its_held_ticket(
    mixed: dict[str, list[Ticket]], advocate: User, advocate2: User
) -> None:
    m0, m1 = mixed["mastodon"]
    b0, b1 = mixed["bluesky"]
    x0, _ = mixed["x"]

    got = services.ticket_next(user=advocate, view="mastodon")
    assert got is not None and got.pk == m0.pk and got.network == "mastodon"
    # No skipping: the held ticket comes back, in its own view and in "All networks".
    again = services.ticket_next(user=advocate, view="mastodon")
    assert again is not None and again.pk == m0.pk
    across = services.ticket_next(user=advocate, view="all-networks")
    assert across is not None and across.pk == m0.pk
    # Another agent's Play skips it: the next Mastodon ticket, then the oldest of all left.
    other = services.ticket_next(user=advocate2, view="mastodon")
    assert other is not None and other.pk == m1.pk
    ticket_actions.ticket_status_set(ticket=other, status="solved", by=advocate2)
    assert services.ticket_next(user=advocate2, view="mastodon") is None
    other = services.ticket_next(user=advocate2, view="all-networks")
    assert other is not None and other.pk == x0.pk

    # The Twitter view is a queue of its own: the Mastodon ticket held does not block it.
    ticket_actions.ticket_status_set(ticket=got, status="solved", by=advocate)
    got = services.ticket_next(user=advocate, view="bluesky")
    assert got is not None and got.pk == b0.pk
    twitter = services.ticket_next(user=advocate, view="twitter")
    assert twitter is not None and twitter.network == "x" and twitter.pk != x0.pk
    # Holding one of each, "All networks" returns the oldest held.
    across = services.ticket_next(user=advocate, view="all-networks")
    assert across is not None and across.pk == b0.pk
    assert b1.pk not in Ticket.objects.filter(assignee__isnull=False).values_list("pk", flat=True)


def test_taking_a_ticket_out_of_order_names_its_networks_view(
    mixed: dict[str, list[Ticket]], advocate: User
) -> None:
    m0, m1 = mixed["mastodon"]
    # The head of the Mastodon view is in order, even with older X and Bluesky tickets waiting.
    assert services.ticket_take_rule(ticket=m0, user=advocate).reason_needed == ""
    take = services.ticket_take_rule(ticket=m1, user=advocate)
    assert take.next_ticket_id == m0.pk
    policy = DESK_POLICY + OPEN_HANDLES + '\n[rules]\nout_of_order = "never"\n'
    policy_actions.policy_apply_text(text=policy, source="strict.toml")
    refused = services.ticket_take_rule(ticket=m1, user=advocate).refused
    assert f"#{m0.pk}" in refused and "Mastodon view" in refused


def test_all_networks_holds_the_queue_statuses_only(
    mixed: dict[str, list[Ticket]], lead: User
) -> None:
    ticket_actions.ticket_status_set(ticket=mixed["bluesky"][0], status="pending", by=lead)
    ticket_actions.ticket_status_set(ticket=mixed["mastodon"][1], status="solved", by=lead)
    listed = ids(list(selectors.ticket_list(view="all-networks")))
    assert mixed["bluesky"][0].pk not in listed and mixed["mastodon"][1].pk not in listed
    assert len(listed) == 4
    with pytest.raises(DomainError, match="cannot be played"):
        services.ticket_next(user=lead, view="all")


def _nav(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<span>([^<]+)</span>\s*<span class="count[^"]*">([^<]+)</span>', page)


def test_sidebar_shows_the_views_of_the_networks_the_desk_is_on(
    networks: dict[str, Handle], client: Client, lead: User
) -> None:
    mention(networks["x"], "xa", 0)
    mastodon_ticket = mention(networks["mastodon"], "ma", 1)
    client.force_login(lead)
    assert _nav(client.get("/").content.decode())[:4] == [
        ("Twitter", "1"),
        ("Mastodon", "1"),
        ("Bluesky", "0"),
        ("All networks", "2"),
    ]
    # Off Mastodon and Bluesky: Bluesky's empty view goes; Mastodon's stays while a ticket is
    # still open there, so no ticket is out of sight, and goes once it is done.
    policy_actions.policy_apply_text(text=DESK_POLICY, source="x-only.toml")
    assert not Handle.objects.filter(network="mastodon", is_active=True).exists()
    names = [name for name, _ in _nav(client.get("/").content.decode())]
    assert names[:3] == ["Twitter", "Mastodon", "All networks"]
    assert "Bluesky" not in names
    ticket_actions.ticket_status_set(ticket=mastodon_ticket, status="solved", by=lead)
    names = [name for name, _ in _nav(client.get("/").content.decode())]
    assert names == ["Twitter", "My tickets", "Pending", "Solved", "All tickets"]
    # A hidden view still answers by its slug.
    assert client.get("/?view=mastodon").status_code == 200


def test_mixed_network_queue_tags_each_row_in_the_same_queries_for_more_tickets(
    networks: dict[str, Handle], client: Client, lead: User
) -> None:
    client.force_login(lead)
    for i, network in enumerate(("x", "mastodon", "bluesky")):
        mention(networks[network], f"first{i}", minutes=i)

    def queue() -> tuple[str, int]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/?view=all-networks")
        assert response.status_code == 200
        return response.content.decode(), len(captured.captured_queries)

    page, few = queue()
    tags = re.findall(r'class="tag tag-net tag-net-(\w+)" data-network="\w+">(\w+)<', page)
    assert tags == [("x", "X"), ("mastodon", "Mastodon"), ("bluesky", "Bluesky")]
    for i in range(10):
        for network in ("x", "mastodon", "bluesky"):
            mention(networks[network], f"{network[0]}many{i}", minutes=10 + i)
    page, many = queue()
    assert many == few
    assert page.count('data-network="mastodon"') == 11


def test_play_from_the_mastodon_view_opens_its_ticket_and_next_stays_in_that_view(
    mixed: dict[str, list[Ticket]], client: Client, advocate: User
) -> None:
    client.force_login(advocate)
    page = client.get("/?view=mastodon").content.decode()
    assert "<h1>Mastodon</h1>" in page and 'name="view" value="mastodon"' in page
    response = client.post(reverse("tickets:next"), {"view": "mastodon"})
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:detail", args=[mixed["mastodon"][0].pk])
    ticket_page = client.get(response["Location"]).content.decode()
    # The ticket page's Next plays the view the agent played.
    assert re.search(NEXT_PLAYS.format(view="mastodon"), ticket_page)
    client.post(reverse("tickets:next"), {"view": "all-networks"})
    ticket_page = client.get(response["Location"]).content.decode()
    assert re.search(NEXT_PLAYS.format(view="all-networks"), ticket_page)


def test_ticket_page_next_defaults_to_the_tickets_network_view(
    mixed: dict[str, list[Ticket]], client: Client, lead: User
) -> None:
    client.force_login(lead)
    page = client.get(reverse("tickets:detail", args=[mixed["bluesky"][0].pk])).content.decode()
    assert re.search(NEXT_PLAYS.format(view="bluesky"), page)


def test_api_lists_and_plays_each_network_view(
    mixed: dict[str, list[Ticket]], client: Client, advocate: User
) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {account_services.token_create(user=advocate)[1]}"}
    listed = client.get("/api/v1/tickets?view=bluesky", **auth).json()
    assert listed["count"] == 2
    assert {t["network"] for t in listed["items"]} == {"bluesky"}
    assert client.get("/api/v1/tickets?view=all-networks", **auth).json()["count"] == 6
    played = client.post(
        "/api/v1/queue/next", data={"view": "mastodon"}, content_type="application/json", **auth
    )
    assert played.status_code == 200
    assert (played.json()["id"], played.json()["network"]) == (mixed["mastodon"][0].pk, "mastodon")
    # The default stays the Twitter view (DESIGN: the seed's Twitter view).
    default = client.post("/api/v1/queue/next", **auth).json()
    assert (default["id"], default["network"]) == (mixed["x"][0].pk, "x")


def test_a_desk_without_x_lands_on_its_first_networks_view(
    db: None, client: Client, advocate: User
) -> None:
    policy_actions.policy_apply_text(text=OPEN_HANDLES, source="open.toml")
    client.force_login(advocate)
    page = client.get("/").content.decode()
    assert "<h1>Mastodon</h1>" in page and 'name="view" value="mastodon"' in page
    assert [name for name, _ in _nav(page)][:3] == ["Mastodon", "Bluesky", "All networks"]
    # The Twitter view is still there by its slug, and stays the API's default.
    assert "<h1>Twitter</h1>" in client.get("/?view=twitter").content.decode()
