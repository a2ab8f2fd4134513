"""The search page: the seed's syntax (as GET /api/v1/search) from a box in the sidebar,
results as queue rows, a refused query shown on the page."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from mentiondesk.accounts.models import User
from mentiondesk.tickets.models import Ticket
from tests.tickets.test_search import corpus  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

SEARCH = reverse("tickets:search")


def shown(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-ticket-id="(\d+)"', page)]


@pytest.fixture
def as_light_agent(client: Client, light_agent: User) -> Client:
    client.force_login(light_agent)
    return client


def test_every_page_has_the_search_box(as_light_agent: Client) -> None:
    page = as_light_agent.get(reverse("tickets:queue")).content.decode()
    assert f'action="{SEARCH}" role="search"' in page and 'name="q"' in page


def test_search_lists_matches_as_queue_rows_in_the_syntax_order(
    corpus: dict[str, Ticket],  # noqa: F811
    as_light_agent: Client,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    with django_assert_max_num_queries(12):
        response = as_light_agent.get(SEARCH, {"q": "status:solved sort:created"})
    assert response.status_code == 200
    page = response.content.decode()
    assert shown(page) == [corpus[n].pk for n in ("quote", "token", "runner")]
    assert 'class="ticket-row' in page
    assert reverse("tickets:detail", args=[corpus["quote"].pk]) in page
    # The query stays in the box; words and phrases narrow it.
    assert 'value="status:solved sort:created"' in page
    page = as_light_agent.get(SEARCH, {"q": '"permission denied"'}).content.decode()
    assert shown(page) == [corpus["quote"].pk]
    page = as_light_agent.get(SEARCH, {"q": "nothing-like-this"}).content.decode()
    assert shown(page) == [] and "No tickets match" in page
    # No query yet: the form and its help, no empty-result message.
    page = as_light_agent.get(SEARCH).content.decode()
    assert shown(page) == [] and "No tickets match" not in page and "status:" in page


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("colour:<b>red</b>", "unknown search filter &#x27;colour&#x27;"),
        ("status:<script>", "status:&lt;script&gt; — use one of"),
        ('"unbalanced', "unbalanced quotes in the search"),
    ],
)
def test_a_refused_query_shows_the_parsers_message_escaped_with_a_400(
    corpus: dict[str, Ticket],  # noqa: F811
    as_light_agent: Client,
    q: str,
    message: str,
) -> None:
    response = as_light_agent.get(SEARCH, {"q": q})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and "flash-error" in page
    assert "<script>" not in page and "<b>red" not in page
    assert shown(page) == []


def test_search_needs_a_signed_in_user(client: Client) -> None:
    response = client.get(SEARCH, {"q": "token"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
