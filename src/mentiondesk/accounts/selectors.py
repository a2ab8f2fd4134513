from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from .models import ApiToken, User
from .services import token_hash


def user_get_by_token(*, raw: str) -> User | None:
    """The active user owning the unrevoked API token `raw`, or None."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=token_hash(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    # Touch at most once a minute so a busy client does not turn every read into a write.
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def user_list(*, role: str | None = None) -> list[User]:
    qs = User.objects.filter(Q(is_active=True)).order_by("username")
    if role:
        qs = qs.filter(role=role)
    return list(qs)


def token_list(*, user: User) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=user).order_by("created_at", "pk"))
