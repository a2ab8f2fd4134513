"""Applying a policy file: handles, users and a new version, then every open ticket's SLA
clock (new targets, new business hours), all or nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.db import transaction

from mentiondesk.accounts.models import User
from mentiondesk.channels.credentials import services as credential_services
from mentiondesk.channels.models import Handle
from mentiondesk.policy.models import PolicyVersion
from mentiondesk.policy.schema import PolicyError, policy_parse
from mentiondesk.policy.selectors import policy_forget_request
from mentiondesk.sla import services as sla_services


def policy_apply(*, path: Path | str, by: User | None = None) -> PolicyVersion:
    """Apply the policy file at `path`, all or nothing.

    Handles in the file are created or updated; handles missing from it are deactivated
    (their tickets stay). Users in the file are created (without a password) or get the
    role the file gives them; other users are left alone. Rules, channels and escalations
    are read from the newest applied version. Raises PolicyError."""
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
        if handle.pk is not None and handle.base_url != entry["base_url"]:
            # Another instance or service is another account there: its id is looked up
            # again and a session opened on the old service is not offered to the new one.
            handle.remote_id = ""
            credential_services.credential_session_clear(handle=handle)
        handle.base_url = entry["base_url"]
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
    version = PolicyVersion.objects.create(
        source=source,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        content=text,
        applied_by=by,
    )
    policy_forget_request()
    # New targets or business hours: open tickets' deadlines move with them.
    sla_services.tickets_sla_refresh_all()
    return version
