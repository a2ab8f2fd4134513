"""The cost page and API (leads and admins), the ticket's cost on its page, and the
composer's hint that a link multiplies what a reply costs."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.conftest import PASSWORD
from tests.costs.conftest import poll

pytestmark = pytest.mark.django_db


def bearer(user: User) -> dict[str, str]:
    _, raw = account_services.token_create(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_only_leads_and_admins_see_the_cost_page_and_api(
    two_tickets: tuple[Ticket, Ticket],
    client: Client,
    advocate: User,
    light_agent: User,
    lead: User,
) -> None:
    for user in (advocate, light_agent):
        client.force_login(user)
        page = client.get(reverse("costs:page"))
        assert page.status_code == 403
        assert b"Leads and admins only" in page.content
        assert b"X API costs</span>" not in client.get(reverse("tickets:queue")).content
        answer = client.get("/api/v1/costs", **bearer(user))
        assert answer.status_code == 403
        assert answer.json()["code"] == "forbidden"

    client.force_login(lead)
    page = client.get(reverse("costs:page")).content.decode()
    assert 'data-total-amount="0.045000">0.045 USD<' in page
    assert 'data-kind="post_read"' in page and 'data-handle="Driftwood"' in page
    assert "X API costs</span>" in client.get(reverse("tickets:queue")).content.decode()
    filtered = client.get(reverse("costs:page"), {"kind": "user_read", "handle": "@Driftwood"})
    assert 'data-kind="user_read"' in filtered.content.decode()
    assert 'data-kind="post_read"' not in filtered.content.decode()
    for bad in ({"date_from": "yesterday"}, {"date_from": "2026-02-02", "date_to": "2026-02-01"}):
        answer = client.get(reverse("costs:page"), bad)
        assert answer.status_code == 400
        assert b"flash-error" in answer.content


def test_the_api_groups_and_filters_the_ledger(
    two_tickets: tuple[Ticket, Ticket], client: Client, lead: User
) -> None:
    maya, _ = two_tickets
    auth = bearer(lead)
    body = client.get("/api/v1/costs?group_by=kind", **auth).json()
    assert body["currency"] == "USD"
    assert body["total"] == {"requests": 3, "failed": 0, "units": 6, "amount": "0.045000"}
    assert [(i["kind"], i["requests"], i["units"], i["amount"]) for i in body["items"]] == [
        ("post_read", 2, 3, "0.015000"),
        ("user_read", 1, 3, "0.030000"),
    ]
    assert body["budget"]["level"] == "ok" and body["budget"]["budget"] == "50.0"

    body = client.get(f"/api/v1/costs?ticket={maya.pk}&group_by=ticket,kind", **auth).json()
    assert [(i["ticket"], i["kind"], i["units"]) for i in body["items"]] == [
        (maya.pk, "post_read", 2)
    ]
    body = client.get("/api/v1/costs?handle=@driftwood&kind=user_read&group_by=handle", **auth)
    assert [(i["handle"], i["units"]) for i in body.json()["items"]] == [("Driftwood", 3)]
    assert client.get("/api/v1/costs?handle=Other", **auth).json()["count"] == 0

    for query, field in (
        ("kind=retweet", "kind"),
        ("group_by=month", "group_by"),
        ("date_from=2026-02-02&date_to=2026-02-01", "date_from"),
    ):
        answer = client.get(f"/api/v1/costs?{query}", **auth)
        assert answer.status_code == 400, query
        assert answer.json()["field"] == field


def test_a_ticket_id_past_the_database_range_is_a_422_not_a_500(client: Client, lead: User) -> None:
    """The schema fuzzer's find: 10**23 overflowed SQLite's integer in the ledger's filter."""
    for path in ("/api/v1/costs", "/api/v1/audit/events"):
        response = client.get(f"{path}?ticket={10**23}", **bearer(lead))
        assert response.status_code == 422, path
        assert response.json()["field"] == "ticket", path


def test_the_ticket_page_shows_leads_its_cost_and_everyone_the_link_prices(
    two_tickets: tuple[Ticket, Ticket], client: Client, advocate: User, lead: User
) -> None:
    maya, _ = two_tickets
    client.force_login(lead)
    page = client.get(reverse("tickets:detail", args=[maya.pk])).content.decode()
    assert "X API cost</dt><dd>0.01 USD" in page

    client.force_login(advocate)
    page = client.get(reverse("tickets:detail", args=[maya.pk])).content.decode()
    assert "X API cost" not in page
    assert 'data-price-plain="0.015 USD" data-price-link="0.20 USD"' in page
    assert 'data-price-multiple="13.3"' in page
    hint = page[page.index("data-cost-hint") :].split(">", 1)[0]
    assert "hidden" in hint, "no link typed yet: the hint is hidden"

    # The server checks the text it renders back (here: too long for X) with the same rule.
    text = "See https://docs.example.com/ci " + "x" * 300
    answer = client.post(reverse("tickets:reply", args=[maya.pk]), {"text": text})
    assert answer.status_code == 400
    page = answer.content.decode()
    hint = page[page.index("data-cost-hint") :].split("</span>", 1)[0]
    assert "hidden" not in hint.split(">", 1)[0]
    assert "X bills it 0.20 USD instead of 0.015 USD (13.3 times as much)." in hint


def test_the_reply_estimate_api_says_what_a_link_costs(
    priced_desk: object, client: Client, advocate: User, light_agent: User
) -> None:
    auth = bearer(advocate)
    plain = client.post(
        "/api/v1/costs/reply-estimate", {"text": "Thanks!"}, "application/json", **auth
    ).json()
    assert (plain["kind"], plain["price"], plain["has_link"], plain["hint"]) == (
        "post_create",
        "0.015",
        False,
        "",
    )
    linked = client.post(
        "/api/v1/costs/reply-estimate",
        {"text": "Docs: http://docs.example.com"},
        "application/json",
        **auth,
    ).json()
    assert (linked["kind"], linked["price"], linked["plain_price"]) == (
        "post_create_with_url",
        "0.2",
        "0.015",
    )
    refused = client.post(
        "/api/v1/costs/reply-estimate",
        {"text": "Thanks!"},
        "application/json",
        **bearer(light_agent),
    )
    assert refused.status_code == 403


def test_without_prices_the_cost_page_still_counts_calls(
    desk: SandboxServer, client: Client, lead: User
) -> None:
    """[x_billing] is optional: the desk of tests/conftest.py has none. The page says so and
    shows the request counts instead of answering 500 on the missing currency."""
    desk.store.mention_add("maya", "@Driftwood pushing to main fails with a 502")
    poll()
    admin = account_services.user_create(username="ada", role=User.Role.ADMIN, password=PASSWORD)
    for user in (lead, admin):
        client.force_login(user)
        answer = client.get(reverse("costs:page"))
        assert answer.status_code == 200
        page = answer.content.decode()
        assert "No prices configured" in page
        assert "not priced" in page
        requests = page.split("data-total-requests>", 1)[1].split("<", 1)[0]
        assert int(requests) > 0
        assert 'data-kind="post_read"' in page
