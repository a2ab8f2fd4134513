"""The policy file: the team's rules as versioned TOML, applied all or nothing."""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle, Network
from mentiondesk.core.errors import DomainError

from .models import PolicyVersion

HANDLE_KEYS = {
    "network": str,
    "username": str,
    "role": str,
    "respond_from": str,
    "auto_ticket": bool,
    "credentials_env": str,
    "user_id": str,
}
USER_KEYS = {"username": str, "role": str}
TOP_KEYS = {"handle", "user"}
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
USERNAME = re.compile(r"^[A-Za-z0-9_]{1,50}$")


class PolicyError(DomainError):
    """The file is invalid. The message names the file, the line or key, and the problem."""


@dataclass
class Policy:
    handles: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)


def policy_parse(*, text: str, source: str) -> Policy:
    """Parse and validate a policy file without touching the database."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: {exc}") from None
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise PolicyError(
            f"{source}: unknown section {sorted(unknown)[0]!r}; expected [[handle]] or [[user]]"
        )
    policy = Policy()
    for kind, keys, target in (
        ("handle", HANDLE_KEYS, policy.handles),
        ("user", USER_KEYS, policy.users),
    ):
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            raise PolicyError(f"{source}: {kind} must be an array of tables ([[{kind}]])")
        for index, entry in enumerate(entries, start=1):
            where = f"{source}: {kind}[{index}]"
            for key, value in entry.items():
                if key not in keys:
                    raise PolicyError(f"{where}: unknown key {key!r}; known: {', '.join(keys)}")
                if not isinstance(value, keys[key]):
                    raise PolicyError(
                        f"{where}.{key}: expected {keys[key].__name__}, got {value!r}"
                    )
            target.append(_validate(kind, entry, where))
    _no_duplicates(
        source, "handle", [(h["network"], h["username"].lower()) for h in policy.handles]
    )
    _no_duplicates(source, "user", [u["username"].lower() for u in policy.users])
    return policy


def _validate(kind: str, entry: dict[str, Any], where: str) -> dict[str, Any]:
    if "username" not in entry:
        raise PolicyError(f"{where}: missing required key 'username'")
    if not USERNAME.match(entry["username"]):
        raise PolicyError(f"{where}.username: {entry['username']!r} is not a valid username")
    if kind == "user":
        role = entry.get("role", User.Role.ADVOCATE)
        _one_of(where, "role", role, User.Role.values)
        return {"username": entry["username"], "role": role}
    clean = {
        "network": entry.get("network", Network.X),
        "username": entry["username"],
        "role": entry.get("role", Handle.Role.MAIN),
        "respond_from": entry.get("respond_from", Handle.RespondFrom.DESK),
        "auto_ticket": entry.get("auto_ticket", True),
        "credentials_env": entry.get("credentials_env", ""),
        "user_id": entry.get("user_id", ""),
    }
    _one_of(where, "network", clean["network"], Network.values)
    _one_of(where, "role", clean["role"], Handle.Role.values)
    _one_of(where, "respond_from", clean["respond_from"], Handle.RespondFrom.values)
    if clean["credentials_env"] and not ENV_NAME.match(clean["credentials_env"]):
        raise PolicyError(
            f"{where}.credentials_env: {clean['credentials_env']!r} is not an environment "
            "variable name (the file names the variable; the token itself never goes here)"
        )
    if clean["user_id"] and not clean["user_id"].isdigit():
        raise PolicyError(f"{where}.user_id: {clean['user_id']!r} is not a numeric X user id")
    return clean


def _one_of(where: str, key: str, value: str, allowed: list[str]) -> None:
    if value not in allowed:
        raise PolicyError(f"{where}.{key}: {value!r} is not one of {', '.join(allowed)}")


def _no_duplicates(source: str, kind: str, keys: list[Any]) -> None:
    seen: set[Any] = set()
    for index, key in enumerate(keys, start=1):
        if key in seen:
            raise PolicyError(f"{source}: {kind}[{index}] repeats {key!r}")
        seen.add(key)


def policy_apply(*, path: Path | str, by: User | None = None) -> PolicyVersion:
    """Apply the policy file at `path`, all or nothing.

    Handles in the file are created or updated; handles missing from it are deactivated
    (their tickets stay). Users in the file are created (without a password) or get the
    role the file gives them; other users are left alone. Raises PolicyError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read the file ({exc})") from None
    return policy_apply_text(text=text, source=str(path), by=by)


@transaction.atomic
def policy_apply_text(*, text: str, source: str, by: User | None = None) -> PolicyVersion:
    policy = policy_parse(text=text, source=source)
    kept: list[int] = []
    for entry in policy.handles:
        handle = Handle.objects.filter(
            network=entry["network"], username__iexact=entry["username"]
        ).first() or Handle(network=entry["network"])
        handle.username = entry["username"]
        handle.role = entry["role"]
        handle.respond_from = entry["respond_from"]
        handle.auto_ticket = entry["auto_ticket"]
        handle.credentials_env = entry["credentials_env"]
        if entry["user_id"]:
            handle.remote_id = entry["user_id"]
        handle.is_active = True
        handle.save()
        kept.append(handle.pk)
    Handle.objects.exclude(pk__in=kept).update(is_active=False)
    for entry in policy.users:
        user = User.objects.filter(username__iexact=entry["username"]).first()
        if user is None:
            user = User(username=entry["username"])
            user.set_unusable_password()
        user.role = entry["role"]
        user.is_staff = entry["role"] == User.Role.ADMIN
        user.save()
    return PolicyVersion.objects.create(
        source=source,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        content=text,
        applied_by=by,
    )


def policy_show() -> str:
    """The policy in force, as a TOML document that `policy apply` accepts back."""
    lines: list[str] = []
    latest = PolicyVersion.objects.first()
    if latest:
        lines.append(f"# applied from {latest.source} at {latest.applied_at:%Y-%m-%d %H:%M:%S} UTC")
        lines.append(f"# sha256 {latest.sha256}")
        lines.append("")
    for handle in Handle.objects.filter(is_active=True).order_by("network", "username"):
        lines += [
            "[[handle]]",
            f'network = "{handle.network}"',
            f'username = "{handle.username}"',
            f'role = "{handle.role}"',
            f'respond_from = "{handle.respond_from}"',
            f"auto_ticket = {'true' if handle.auto_ticket else 'false'}",
            f'credentials_env = "{handle.credentials_env}"',
        ]
        if handle.remote_id:
            lines.append(f'user_id = "{handle.remote_id}"')
        lines.append("")
    for user in User.objects.filter(is_active=True).order_by("username"):
        lines += ["[[user]]", f'username = "{user.username}"', f'role = "{user.role}"', ""]
    return "\n".join(lines).rstrip() + "\n"
