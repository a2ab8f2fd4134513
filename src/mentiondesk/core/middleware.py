"""Requests the desk refuses before any view sees them."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

NUL_REFUSED = "the request holds a NUL character (\\u0000), which no text of the desk may hold"


def nul_refusing_middleware(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """A NUL in the path, the query or a form or JSON body is a 400, never a 500: PostgreSQL
    refuses it in every text column, and SQLite would store it (and send it to X in a reply).
    Webhooks are left alone: X's events are kept byte for byte, NULs included."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/webhooks/") and _holds_nul(request):
            if request.path.startswith("/api/"):
                body = {"detail": NUL_REFUSED, "code": "nul_character", "field": None}
                return JsonResponse(body, status=400)
            return HttpResponseBadRequest(NUL_REFUSED, content_type="text/plain; charset=utf-8")
        return get_response(request)

    return middleware


def _holds_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path or any(
        "\x00" in key or any("\x00" in value for value in values)
        for key, values in request.GET.lists()
    ):
        return True
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    body = request.body.lower()
    if request.content_type == "application/json":
        return b"\x00" in body or b"\\u0000" in body
    if request.content_type == "application/x-www-form-urlencoded":
        return b"\x00" in body or b"%00" in body
    return False
