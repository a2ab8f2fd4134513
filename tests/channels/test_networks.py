"""A handle on a network without a connector is never spoken to through another network's
connector: not polled, not answered, with an error that says why."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mentiondesk.channels import services as channel_services
from mentiondesk.channels.connectors import NETWORKS, network_connector_class
from mentiondesk.channels.connectors.base import Connector
from mentiondesk.channels.connectors.bluesky import TEXT_LIMIT_GRAPHEMES
from mentiondesk.channels.connectors.mastodon import DEFAULT_TEXT_LIMIT
from mentiondesk.channels.models import Handle
from mentiondesk.core.errors import DomainError
from mentiondesk.intake import ingest
from mentiondesk.sandbox.x.server import SandboxServer


@pytest.mark.django_db
def test_a_stored_handle_on_another_network_is_not_polled_through_x(
    desk: SandboxServer,
) -> None:
    # A row written by hand for a network without a connector; its token would work on X.
    handle = Handle.objects.create(
        network="threads",
        username="driftwood",
        auto_ticket=True,
        credentials_env="MENTIONDESK_X_TOKEN_DRIFTWOOD",
    )
    with pytest.raises(DomainError, match="network 'threads' is not supported yet"):
        channel_services.handle_connector(handle=handle)

    results = {r.handle: r for r in ingest.mentions_poll_all()}
    assert "@driftwood: network 'threads' is not supported yet" in str(results["driftwood"].error)
    assert "supported networks: x, mastodon, bluesky" in str(results["driftwood"].error)
    assert not results["Driftwood"].error, "the x handles are polled as before"
    asked = [r.path for r in desk.store.request_log()]
    assert "/2/users/by/username/driftwood" not in asked
    handle.refresh_from_db()
    assert handle.remote_id == ""


@pytest.mark.django_db
def test_a_mastodon_handle_never_gets_an_x_token_or_the_x_api(
    desk: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Mastodon row from before the policy named its instance, or naming X's variable: the
    X token is never sent anywhere as the Mastodon account's, and X is not asked."""
    handle = Handle.objects.create(
        network="mastodon",
        username="driftwood",
        auto_ticket=True,
        credentials_env="MENTIONDESK_X_TOKEN_DRIFTWOOD",
    )
    with pytest.raises(DomainError, match="no Mastodon instance URL"):
        channel_services.handle_connector(handle=handle)
    Handle.objects.filter(pk=handle.pk).update(base_url="https://social.example")
    handle.refresh_from_db()
    with pytest.raises(DomainError, match=r"not a handle's secret \(MENTIONDESK_MASTODON_TOKEN_"):
        channel_services.handle_connector(handle=handle)
    ingest.mentions_poll_all()
    assert "/2/users/by/username/driftwood" not in [r.path for r in desk.store.request_log()]


@pytest.mark.django_db
def test_a_stored_handle_naming_another_variable_sends_nothing(
    desk: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row from before `policy apply` checked credentials_env: the desk's own secret key
    (or PATH) is never sent to X as a bearer token."""
    monkeypatch.setenv("MENTIONDESK_SECRET_KEY", "the-desk-secret")
    handle = Handle.objects.get(username="Driftwood")
    Handle.objects.filter(pk=handle.pk).update(credentials_env="MENTIONDESK_SECRET_KEY")
    handle.refresh_from_db()
    with pytest.raises(DomainError, match="is not a handle's secret"):
        channel_services.handle_connector(handle=handle)
    (result,) = [r for r in ingest.mentions_poll_all() if r.handle == "Driftwood"]
    assert "is not a handle's secret" in result.error
    # The other handles are polled; nothing is asked as @Driftwood.
    assert "/2/users/by/username/Driftwood" not in [r.path for r in desk.store.request_log()]


@pytest.mark.parametrize("network", ["x", "mastodon", "bluesky"])
def test_every_network_names_a_connector_that_speaks_the_protocol(network: str) -> None:
    cls = network_connector_class(network)
    missing = [
        name
        for name in dir(Connector)
        if not name.startswith("_") and callable(getattr(Connector, name))
        if not callable(getattr(cls, name, None))
    ]
    assert not missing, f"{cls.__name__} lacks {missing}"
    if network == "mastodon":
        assert NETWORKS["mastodon"].text_limit == DEFAULT_TEXT_LIMIT
    if network == "bluesky":
        assert NETWORKS["bluesky"].text_limit == TEXT_LIMIT_GRAPHEMES


def test_the_network_facts_and_bluesky_rules_load_no_vendor_sdk() -> None:
    # Pages and `mentiondesk check` count and link posts through NETWORKS and bluesky.rules; a
    # fresh interpreter shows whether that pulled in a connector (and its SDK) too.
    code = (
        "import sys\n"
        "from mentiondesk.channels.connectors import NETWORKS\n"
        "from mentiondesk.channels.connectors.bluesky import post_url, rkey_for\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('atproto_client', 'mastodon', 'authlib', 'httpx')"
        " or m.endswith('.client') and m.startswith('mentiondesk.channels.connectors'))\n"
        "print(','.join(loaded))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == ""
