"""A handle on a network without a connector is never spoken to through another network's
connector: not polled, not answered, with an error that says why."""

from __future__ import annotations

import pytest

from mentiondesk.channels import services as channel_services
from mentiondesk.channels.models import Handle
from mentiondesk.core.errors import DomainError
from mentiondesk.intake import ingest
from mentiondesk.sandbox.x.server import SandboxServer


@pytest.mark.django_db
def test_a_stored_handle_on_another_network_is_not_polled_through_x(
    desk: SandboxServer,
) -> None:
    # A row from before the policy refused such networks; its token would work on X.
    handle = Handle.objects.create(
        network="mastodon",
        username="driftwood",
        auto_ticket=True,
        credentials_env="MENTIONDESK_X_TOKEN_DRIFTWOOD",
    )
    with pytest.raises(DomainError, match="network 'mastodon' is not supported yet"):
        channel_services.handle_connector(handle=handle)

    results = {r.handle: r for r in ingest.mentions_poll_all()}
    assert "@driftwood: network 'mastodon' is not supported yet" in str(results["driftwood"].error)
    assert "supported networks: x" in str(results["driftwood"].error)
    assert not results["Driftwood"].error, "the x handles are polled as before"
    asked = [r.path for r in desk.store.request_log()]
    assert "/2/users/by/username/driftwood" not in asked
    handle.refresh_from_db()
    assert handle.remote_id == ""


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
