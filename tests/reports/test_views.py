"""The reports page: leads and admins only, a link in the sidebar for them, and the filters
as given in the address."""

from __future__ import annotations

import pytest
from django.test import Client

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from tests.factories import remote_post, tickets_from
from tests.reports.conftest import Timeline

pytestmark = pytest.mark.django_db

PAGE = "/reports/"


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", ["advocate", "light_agent", "infrastructure"])
def test_others_get_the_refusal_with_a_403(
    client: Client, request: pytest.FixtureRequest, role: str
) -> None:
    user = request.getfixturevalue(role)
    response = signed_in(client, user).get(PAGE)
    assert response.status_code == 403
    assert b"Leads and admins only" in response.content
    assert b"chart.umd.min.js" not in response.content
    # ...and no link to the page in their sidebar.
    assert b'href="/reports/"' not in signed_in(client, user).get("/").content


def test_signed_out_people_are_sent_to_sign_in(client: Client) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_leads_get_the_page_with_its_filters(
    client: Client, timeline: Timeline, lead: User
) -> None:
    response = signed_in(client, lead).get(
        PAGE, {"from": "2026-10-24", "to": "2026-10-26", "handle": "driftwoodstatus"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-report-url="/api/v1/reports/summary"' in html
    assert 'value="2026-10-24"' in html
    assert '<option value="DriftwoodStatus" data-network="x" selected>' in html
    assert '<option value="">All networks</option>' in html
    assert '<option value="mastodon">Mastodon</option>' in html
    assert "Europe/Berlin" in html
    # Scripts are files, never inline (a CSP without 'unsafe-inline' keeps working).
    assert '<script src="/static/reports/vendor/chart.umd.min.js" defer></script>' in html
    assert '<script src="/static/reports/reports.js" defer></script>' in html
    assert "<script>" not in html
    for chart in ("by_day", "by_hour", "by_intent", "distribution", "backlog", "by_handle"):
        assert f'data-chart="{chart}"' in html
    assert "data-by-network" in html
    assert 'href="/reports/"' in signed_in(client, lead).get("/").content.decode()


def test_a_handle_is_chosen_with_its_network(
    client: Client, timeline: Timeline, lead: User
) -> None:
    """@Driftwood on X and @driftwood on Mastodon: the address names the network, and only
    that handle is shown chosen."""
    mastodon = Handle.objects.create(
        network="mastodon", username="driftwood", remote_id="110", role="main"
    )
    tickets_from(mastodon, remote_post(text="@driftwood hello"))  # listed: it has tickets
    html = (
        signed_in(client, lead)
        .get(PAGE, {"network": "mastodon", "handle": "driftwood"})
        .content.decode()
    )
    assert '<option value="mastodon" selected>Mastodon</option>' in html
    assert '<option value="Driftwood" data-network="x">@Driftwood · X</option>' in html
    assert (
        '<option value="driftwood" data-network="mastodon" selected>@driftwood · Mastodon</option>'
        in html
    )


def test_static_files_are_served(client: Client) -> None:
    for path in ("reports/vendor/chart.umd.min.js", "reports/reports.js", "reports/reports.css"):
        response = client.get(f"/static/{path}")
        assert response.status_code == 200, path
