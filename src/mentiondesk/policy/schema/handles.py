"""[[handle]] and [[user]]: the desk's accounts on each network (channels) and its people
(accounts)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from mentiondesk.accounts.models import User
from mentiondesk.channels.connectors import network_facts, network_unsupported_reason
from mentiondesk.channels.constants import CREDENTIALS_ENV
from mentiondesk.channels.models import Handle, Network

from .checks import PolicyError, _one_of, _required

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
USERNAME = re.compile(r"^[A-Za-z0-9_]{1,50}$")


HANDLE_KEYS: dict[str, type] = {
    "network": str,
    "username": str,
    "role": str,
    "respond_from": str,
    "auto_ticket": bool,
    "credentials_env": str,
    "user_id": str,
    "instance": str,
    "service": str,
}
# Where a handle's network answers, by network: a Mastodon account's instance, a Bluesky
# account's PDS or entryway. X has one API for all (MENTIONDESK_X_API_URL).
BASE_URL_KEYS: dict[str, str] = {Network.MASTODON: "instance", Network.BLUESKY: "service"}
# A Bluesky handle is a domain name (atproto handle syntax); a DID names the account.
BLUESKY_HANDLE = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)
DID = re.compile(r"^did:[a-z]+:[A-Za-z0-9._:%-]*[A-Za-z0-9._-]$")
USER_KEYS: dict[str, type] = {"username": str, "role": str}


def _username(entry: dict[str, Any], where: str) -> str:
    username = _required(entry, "username", where)
    if not USERNAME.match(username):
        raise PolicyError(f"{where}.username: {username!r} is not a valid username")
    return username


def _handle_network(entry: dict[str, Any], where: str) -> None:
    """Refuse a handle on a network the desk has no connector for, before its other keys are
    checked: a Mastodon handle's `instance` is not an unknown key, its network is unsupported."""
    network = entry.get("network", Network.X)
    if not isinstance(network, str):
        return  # _keys says it must be a string
    reason = network_unsupported_reason(network)
    if reason is not None:
        username = entry.get("username")
        who = f" @{username}" if isinstance(username, str) and username else ""
        raise PolicyError(f"{where}{who}: {reason}")


def _handle(entry: dict[str, Any], where: str) -> dict[str, Any]:
    network = entry.get("network", Network.X)
    clean = {
        "network": network,
        "username": _handle_username(entry, where, network),
        "role": entry.get("role", Handle.Role.MAIN),
        "respond_from": entry.get("respond_from", Handle.RespondFrom.DESK),
        "auto_ticket": entry.get("auto_ticket", True),
        "credentials_env": entry.get("credentials_env", ""),
        "user_id": entry.get("user_id", ""),
        "base_url": _handle_base_url(entry, where, network),
    }
    _one_of(where, "role", clean["role"], Handle.Role.values)
    _one_of(where, "respond_from", clean["respond_from"], Handle.RespondFrom.values)
    if clean["credentials_env"] and not ENV_NAME.match(clean["credentials_env"]):
        raise PolicyError(
            f"{where}.credentials_env: {clean['credentials_env']!r} is not an environment "
            "variable name (the file names the variable; the token itself never goes here)"
        )
    if clean["credentials_env"] and not CREDENTIALS_ENV.match(clean["credentials_env"]):
        raise PolicyError(
            f"{where}.credentials_env: {clean['credentials_env']!r} is not a handle's secret: "
            "name a variable MENTIONDESK_X_TOKEN_<NAME> (or MENTIONDESK_MASTODON_TOKEN_<NAME>, "
            "MENTIONDESK_BLUESKY_PASSWORD_<NAME>); the desk sends its value to the network"
        )
    prefix = network_facts(network).credentials_prefix
    if clean["credentials_env"] and not clean["credentials_env"].startswith(prefix):
        raise PolicyError(
            f"{where}.credentials_env: {clean['credentials_env']!r} is not a "
            f"{network_facts(network).label} handle's secret: name a variable {prefix}<NAME>"
        )
    user_id = clean["user_id"]
    if user_id and network == Network.BLUESKY and not DID.match(user_id):
        raise PolicyError(f"{where}.user_id: {user_id!r} is not a DID (did:plc:…, did:web:…)")
    if user_id and network != Network.BLUESKY and not user_id.isdigit():
        label = network_facts(network).label
        raise PolicyError(f"{where}.user_id: {user_id!r} is not a numeric {label} user id")
    return clean


def _handle_username(entry: dict[str, Any], where: str, network: str) -> str:
    """X and Mastodon usernames are letters, digits and _; a Bluesky handle is a domain name."""
    if network != Network.BLUESKY:
        return _username(entry, where)
    username = _required(entry, "username", where)
    if not BLUESKY_HANDLE.match(username):
        raise PolicyError(
            f"{where}.username: {username!r} is not a Bluesky handle (a domain name such as "
            "driftwood.bsky.social, without @)"
        )
    return username


def _handle_base_url(entry: dict[str, Any], where: str, network: str) -> str:
    """The handle's `instance` (Mastodon) or `service` (Bluesky): required there, refused
    elsewhere. An http(s) URL with a host and no credentials, query or fragment; kept
    without its trailing slash."""
    wanted = BASE_URL_KEYS.get(network)
    for key in BASE_URL_KEYS.values():
        if key in entry and key != wanted:
            label = network_facts(network).label
            raise PolicyError(
                f"{where}.{key}: not a key of a {label} handle"
                + (f" (a {label} handle names its {wanted})" if wanted else "")
            )
    if wanted is None:
        return ""
    if wanted not in entry:
        raise PolicyError(
            f"{where}: missing required key {wanted!r} (the {network_facts(network).label} "
            f"{'instance' if wanted == 'instance' else 'PDS or entryway'}'s URL, "
            "such as https://social.example)"
        )
    value = str(entry[wanted]).strip()
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme not in ("https", "http") or not host:
        raise PolicyError(f"{where}.{wanted}: {value!r} is not an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise PolicyError(
            f"{where}.{wanted}: {value!r} carries credentials; the secret goes in the "
            "variable credentials_env names"
        )
    if parts.query or parts.fragment:
        raise PolicyError(f"{where}.{wanted}: {value!r} has a query or fragment; give the base URL")
    return value.rstrip("/")


def _user(entry: dict[str, Any], where: str) -> dict[str, Any]:
    role = entry.get("role", User.Role.ADVOCATE)
    _one_of(where, "role", role, User.Role.values)
    return {"username": _username(entry, where), "role": role}
