"""Structured logs: one JSON object per line, carrying the request id (taken from the
proxy's X-Request-ID or made here) and the ticket a request or task is about; and a memo for
what one request reads more than once."""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.encoding import escape_uri_path

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
ticket_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("ticket_id", default=None)
# What a request worked out once and reads again (the policy in force, asked six times by the
# ticket page): fresh for each request, None outside one (tasks, commands).
request_memo: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "request_memo", default=None
)

logger = logging.getLogger("mentiondesk.request")

# A proxy's id is reused only when it is short and plain, so logs cannot be forged with it.
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

_View = Callable[..., HttpResponse]


def quiet_log(view: _View) -> _View:
    """Mark a view that open pages ask every second or so (the queue's pulse, the ticket's
    arrivals): its answers are logged at DEBUG, so 32 agents do not write 32 INFO lines a
    second. A refusal or an error (4xx, 5xx) is still logged at INFO."""
    view.quiet_log = True  # type: ignore[attr-defined]
    return view


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.ticket_id = ticket_id.get()
        return True


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        rid = given if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex
        request.request_id = rid  # type: ignore[attr-defined]
        rid_token = request_id.set(rid)
        ticket_token = ticket_id.set(None)
        memo_token = request_memo.set({})
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            # The path as it came on the wire (percent-encoded): a decoded %0A would start a
            # forged line in the plain log.
            path = escape_uri_path(request.path)
            quiet = getattr(request, "quiet_log", False) and response.status_code < 400
            logger.log(
                logging.DEBUG if quiet else logging.INFO,
                "%s %s %s",
                request.method,
                path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        finally:
            request_id.reset(rid_token)
            ticket_id.reset(ticket_token)
            request_memo.reset(memo_token)
        response["X-Request-ID"] = rid
        return response

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., object],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        if isinstance(kwargs.get("ticket_id"), int):
            ticket_id.set(kwargs["ticket_id"])
        if getattr(view, "quiet_log", False):
            request.quiet_log = True  # type: ignore[attr-defined]
