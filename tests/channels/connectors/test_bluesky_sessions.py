"""Sessions: createSession is limited to 30 per 5 minutes and 300 per day per account, so the
connector logs in only without any session, refreshes an expired one, and hands every new
session to the desk (`on_session`) to store."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from mentiondesk.channels.connectors.base import RateLimited, Rejected
from mentiondesk.channels.connectors.bluesky import BlueskyConnector, bluesky_state_clear
from mentiondesk.sandbox.bluesky import BlueskySandbox, BlueskyStore
from tests.channels.connectors.conftest import OURS, PASSWORD, connect


class SessionVault:
    """What the desk does with `on_session`: keep the newest session string (encrypted there)."""

    def __init__(self) -> None:
        self.value: str | None = None
        self.saves = 0

    def save(self, session: str) -> None:
        self.value, self.saves = session, self.saves + 1


def test_fifty_calls_over_five_connectors_sharing_a_stored_session_log_in_once(
    bluesky: BlueskySandbox,
) -> None:
    vault = SessionVault()
    for _ in range(5):
        # a fresh process each time: only the stored session carries over
        bluesky_state_clear()
        driftwood = connect(bluesky, session=vault.value, on_session=vault.save)
        for n in range(10):
            driftwood.mentions("me") if n % 2 else driftwood.me()
        driftwood.close()

    assert bluesky.store.counts["createSession"] == 1
    assert vault.saves == 1


def test_connectors_started_at_once_in_one_process_share_one_login(
    bluesky: BlueskySandbox,
) -> None:
    vault = SessionVault()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            driftwood = connect(bluesky, on_session=vault.save)  # no stored session yet
            for _ in range(10):
                driftwood.mentions("me")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert bluesky.store.counts["createSession"] == 1
    assert bluesky.store.calls("app.bsky.notification.listNotifications") == 50


def test_an_access_token_about_to_expire_is_refreshed_not_logged_in_again() -> None:
    # Access tokens of one minute: the SDK refreshes 15 minutes before expiry, so at once.
    with BlueskySandbox(BlueskyStore(access_ttl=timedelta(minutes=1))) as server:
        server.store.account_add(OURS, password=PASSWORD)
        vault = SessionVault()
        connect(server, on_session=vault.save).me()  # logs in
        first = vault.value

        bluesky_state_clear()
        connect(server, session=first, on_session=vault.save).me()

        assert server.store.counts["createSession"] == 1
        assert server.store.counts["refreshSession"] >= 1
        assert vault.value != first  # the refreshed session was handed over to be stored


def test_an_access_token_the_pds_calls_expired_is_refreshed_once_and_the_call_repeated(
    bluesky: BlueskySandbox,
) -> None:
    vault = SessionVault()
    driftwood = connect(bluesky, on_session=vault.save)
    driftwood.me()
    bluesky.store.access_tokens_expire()  # the JWT's exp still says two hours

    page = driftwood.mentions("me")

    assert page.posts == []
    assert bluesky.store.counts == {"createSession": 1, "refreshSession": 1}
    assert vault.saves == 2
    statuses = [r.path for r in bluesky.store.request_log() if r.path.endswith("listNotifications")]
    assert len(statuses) == 2  # the refused call, then the same call again


def test_a_dead_refresh_token_leads_to_one_login(bluesky: BlueskySandbox) -> None:
    driftwood = connect(bluesky)
    driftwood.me()
    bluesky.store.access_tokens_expire()
    bluesky.store.refresh_tokens_revoke()

    assert driftwood.me().username == OURS
    assert bluesky.store.counts == {"createSession": 2, "refreshSession": 1}


def test_a_stored_session_needs_no_password(bluesky: BlueskySandbox) -> None:
    vault = SessionVault()
    connect(bluesky, on_session=vault.save).me()
    bluesky_state_clear()

    stored_only = BlueskyConnector(service=bluesky.url, handle=OURS, session=vault.value)

    assert stored_only.me().username == OURS
    bluesky_state_clear()
    with pytest.raises(Rejected, match="no session and no app password"):
        BlueskyConnector(service=bluesky.url, handle=OURS).me()


def test_a_wrong_app_password_is_rejected(bluesky: BlueskySandbox) -> None:
    with pytest.raises(Rejected, match="401"):
        connect(bluesky, password="wrong-wrong-wrong-wrong").me()


def test_the_sandbox_enforces_thirty_logins_per_five_minutes_and_the_connector_waits(
    bluesky: BlueskySandbox,
) -> None:
    for _ in range(30):
        bluesky_state_clear()
        connect(bluesky).me()
    bluesky_state_clear()

    with pytest.raises(RateLimited) as limited:
        connect(bluesky).me()
    with pytest.raises(RateLimited, match="not sent"):
        connect(bluesky).me()

    assert bluesky.store.counts["createSession"] == 31
    assert limited.value.reset_at is not None
