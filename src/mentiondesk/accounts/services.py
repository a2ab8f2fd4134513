from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mentiondesk.core.errors import Conflict, DomainError, NotFound

from .models import ApiToken, User

TOKEN_PREFIX = "md_"  # noqa: S105 (a marker that makes leaked tokens greppable, not a secret)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def user_create(*, username: str, role: str, password: str | None = None) -> User:
    """Create a user with `role`. Without a password the user can only use API tokens.

    Raises DomainError for an unknown role, a taken username or a weak password."""
    if role not in User.Role.values:
        raise DomainError(
            f"unknown role {role!r}; use one of {', '.join(User.Role.values)}", field="role"
        )
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError(f"user {username!r} already exists", field="username")
    user = User(username=username, role=role, is_staff=role == User.Role.ADMIN)
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise DomainError("; ".join(exc.messages), field="password") from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


@transaction.atomic
def user_set_role(*, user: User, role: str) -> User:
    if role not in User.Role.values:
        raise DomainError(f"unknown role {role!r}", field="role")
    user.role = role
    user.is_staff = role == User.Role.ADMIN
    user.save(update_fields=["role", "is_staff"])
    return user


def token_create(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create an API token for `user`. Returns the row and the raw token, shown once."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, key_hash=token_hash(raw), prefix=raw[:10])
    return token, raw


def token_revoke(*, prefix: str) -> ApiToken:
    """Revoke the token whose first characters (as `token list` shows them) are `prefix`. The
    row stays, revoked, so the audit of what it did keeps its owner."""
    with transaction.atomic():
        tokens = list(ApiToken.objects.select_for_update().filter(prefix=prefix))
        if not tokens:
            raise NotFound(f"no API token starts with {prefix!r} (see `mentiondesk token list`)")
        if len(tokens) > 1:
            raise Conflict(f"{len(tokens)} tokens start with {prefix!r}; revoke them by user")
        (token,) = tokens
        if token.revoked_at is not None:
            raise Conflict(f"token {prefix}… was already revoked on {token.revoked_at:%Y-%m-%d}")
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
