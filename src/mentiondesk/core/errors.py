"""Domain errors. Services raise them; one handler per door (web, API, CLI) turns them into a
message, an HTTP status or an exit code."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the desk said no. `message` is written for the person who asked."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
