"""Mastodon and Bluesky handles in the policy file (issue 17): `instance` and `service` name
where the handle's network answers; usernames, user ids and secrets are checked by the
network's own rules, and `policy show` writes them back."""

from __future__ import annotations

import pytest
from django.conf import settings

from mentiondesk.actions import policy as policy_actions
from mentiondesk.channels.credentials import services as credential_services
from mentiondesk.channels.credentials.crypto import key_generate
from mentiondesk.channels.models import Handle, HandleCredential
from mentiondesk.policy import services
from mentiondesk.policy.schema import PolicyError, policy_parse

pytestmark = pytest.mark.django_db

OPEN = """
[[handle]]
network = "mastodon"
username = "driftwood"
instance = "https://social.example/"
role = "main"
credentials_env = "MENTIONDESK_MASTODON_TOKEN_DRIFTWOOD"

[[handle]]
network = "bluesky"
username = "driftwood.example"
service = "https://bsky.social"
role = "main"
credentials_env = "MENTIONDESK_BLUESKY_PASSWORD_DRIFTWOOD"
user_id = "did:plc:z72i7hdynmk6r22z27h6tvur"
"""


def test_instance_and_service_become_the_handles_base_url_and_are_written_back() -> None:
    policy_actions.policy_apply_text(text=OPEN, source="open.toml")
    mastodon = Handle.objects.get(network="mastodon")
    bluesky = Handle.objects.get(network="bluesky")
    assert mastodon.base_url == "https://social.example"  # without the trailing slash
    assert bluesky.base_url == "https://bsky.social"
    assert bluesky.remote_id == "did:plc:z72i7hdynmk6r22z27h6tvur"

    shown = services.policy_show()
    assert 'instance = "https://social.example"' in shown
    assert 'service = "https://bsky.social"' in shown
    assert 'user_id = "did:plc:z72i7hdynmk6r22z27h6tvur"' in shown
    # What `policy show` writes, `policy apply` takes back unchanged.
    again = policy_parse(text=shown, source="shown.toml")
    assert {(h["network"], h["base_url"]) for h in again.handles} == {
        ("mastodon", "https://social.example"),
        ("bluesky", "https://bsky.social"),
    }


MASTODON = """
[[handle]]
network = "mastodon"
username = "driftwood"
credentials_env = "MENTIONDESK_MASTODON_TOKEN_DRIFTWOOD"
"""
BLUESKY = """
[[handle]]
network = "bluesky"
username = "driftwood.example"
credentials_env = "MENTIONDESK_BLUESKY_PASSWORD_DRIFTWOOD"
"""
X = """
[[handle]]
network = "x"
username = "Driftwood"
credentials_env = "MENTIONDESK_X_TOKEN_DRIFTWOOD"
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MASTODON, "handle[1]: missing required key 'instance'"),
        (BLUESKY, "handle[1]: missing required key 'service'"),
        (X + 'instance = "https://social.example"\n', "handle[1].instance: not a key of a X"),
        (X + 'service = "https://bsky.social"\n', "handle[1].service: not a key of a X"),
        (
            MASTODON + 'service = "https://bsky.social"\n',
            "handle[1].service: not a key of a Mastodon handle (a Mastodon handle names its "
            "instance)",
        ),
        (
            MASTODON + 'instance = "ftp://social.example"\n',
            "handle[1].instance: 'ftp://social.example' is not an http(s) URL with a host",
        ),
        (MASTODON + 'instance = "https://"\n', "is not an http(s) URL with a host"),
        (
            MASTODON + 'instance = "https://me:pw@social.example"\n',
            "handle[1].instance: 'https://me:pw@social.example' carries credentials",
        ),
        (
            BLUESKY + 'service = "https://bsky.social/?x=1"\n',
            "handle[1].service: 'https://bsky.social/?x=1' has a query or fragment",
        ),
        (
            MASTODON.replace("driftwood", "drift.wood", 1) + 'instance = "https://s.example"\n',
            "handle[1].username: 'drift.wood' is not a valid username",
        ),
        (
            BLUESKY.replace("driftwood.example", "driftwood", 1)
            + 'service = "https://bsky.social"\n',
            "handle[1].username: 'driftwood' is not a Bluesky handle",
        ),
        (
            BLUESKY.replace("driftwood.example", "@driftwood.example", 1)
            + 'service = "https://bsky.social"\n',
            "is not a Bluesky handle",
        ),
        (
            BLUESKY + 'service = "https://bsky.social"\nuser_id = "12345"\n',
            "handle[1].user_id: '12345' is not a DID",
        ),
        (
            MASTODON + 'instance = "https://s.example"\nuser_id = "did:plc:abc"\n',
            "handle[1].user_id: 'did:plc:abc' is not a numeric Mastodon user id",
        ),
        (
            MASTODON.replace("MASTODON_TOKEN", "X_TOKEN") + 'instance = "https://s.example"\n',
            "handle[1].credentials_env: 'MENTIONDESK_X_TOKEN_DRIFTWOOD' is not a Mastodon "
            "handle's secret: name a variable MENTIONDESK_MASTODON_TOKEN_<NAME>",
        ),
        (
            BLUESKY.replace("BLUESKY_PASSWORD", "MASTODON_TOKEN")
            + 'service = "https://bsky.social"\n',
            "is not a Bluesky handle's secret: name a variable MENTIONDESK_BLUESKY_PASSWORD_",
        ),
    ],
)
def test_errors_name_the_handle_and_the_key(text: str, expected: str) -> None:
    with pytest.raises(PolicyError) as excinfo:
        policy_actions.policy_apply_text(text=text, source="open.toml")
    assert excinfo.value.message.startswith("open.toml: handle[1]")
    assert expected in excinfo.value.message
    assert not Handle.objects.exists()


def test_a_new_service_forgets_the_account_id_and_the_session_of_the_old_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "CREDENTIALS_KEY", key_generate())
    policy_actions.policy_apply_text(text=OPEN, source="open.toml")
    handle = Handle.objects.get(network="bluesky")
    credential_services.credential_session_store(handle=handle, session="the-session")
    assert credential_services.credential_session_get(handle=handle) == "the-session"
    # The sealed secret is not the session in clear.
    assert "the-session" not in HandleCredential.objects.get(handle=handle).secret

    moved = OPEN.replace("https://bsky.social", "https://pds.driftwood.example").replace(
        'user_id = "did:plc:z72i7hdynmk6r22z27h6tvur"\n', ""
    )
    policy_actions.policy_apply_text(text=moved, source="moved.toml")
    handle.refresh_from_db()
    assert handle.base_url == "https://pds.driftwood.example"
    assert handle.remote_id == "", "looked up again on the new service"
    assert credential_services.credential_session_get(handle=handle) is None
    assert not HandleCredential.objects.filter(handle=handle).exists()
