"""How API clients prove who they are: `Authorization: Bearer <token>` (`mentiondesk token
create NAME`). Apart from api.py, which mounts the routers that use it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from mentiondesk.accounts import selectors as account_selectors
from mentiondesk.accounts.models import User
from mentiondesk.core.errors import DomainError


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = account_selectors.user_get_by_token(raw=token)
        if user is not None:
            request.user = user
        return user


def api_user(request: HttpRequest) -> User:
    """The user an API request was authenticated as (by BearerToken or, on routers that take
    it, the session)."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):
        raise DomainError("not authenticated")
    return user
