"""Requests the desk refuses before any view sees them."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

NUL_REFUSED = "the request holds a NUL character (\\u0000), which no text of the desk may hold"


def nul_refusing_middleware(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """A NUL in the path, a header, the query or a body (form, multipart fields and file names,
    JSON under any content type) is a 400, never a 500: PostgreSQL refuses it in every text
    column, and SQLite would store it (and send it to X in a reply).
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
    # Headers too: the API reads the Idempotency-Key header into a database column.
    if "\x00" in request.path or any("\x00" in value for value in request.headers.values()):
        return True
    if _lists_hold_nul(request.GET.lists()):
        return True
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    # Read first: parsing a multipart form from the cached body leaves it readable by views.
    body = request.body.lower()
    if request.content_type == "multipart/form-data":
        files = request.FILES.lists()
        return _lists_hold_nul(request.POST.lists()) or _lists_hold_nul(
            (field, [f.name or "" for f in uploads]) for field, uploads in files
        )
    if request.content_type == "application/x-www-form-urlencoded":
        return b"\x00" in body or b"%00" in body
    # JSON whatever the content type says: django-ninja reads any body as JSON.
    return b"\x00" in body or b"\\u0000" in body


def _lists_hold_nul(lists: Iterable[tuple[str, list[str]]]) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in lists)
