from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.core.management.base import CommandError

from mentiondesk.core.errors import DomainError

F = TypeVar("F", bound=Callable[..., Any])


def domain_errors_as_command_errors(handle: F) -> F:
    """A DomainError ends the command with its message and exit code 1, not a traceback."""

    @wraps(handle)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handle(*args, **kwargs)
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    return wrapper  # type: ignore[return-value]
