"""The URL registered with X: GET answers the CRC challenge, POST takes signed events."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from mentiondesk.core.errors import DomainError

from . import services


@csrf_exempt  # X cannot send a CSRF token; every POST is authenticated by its HMAC instead.
@require_http_methods(["GET", "POST"])
def x_webhook(request: HttpRequest) -> JsonResponse:
    try:
        if request.method == "GET":
            return JsonResponse(
                services.webhook_crc_response(crc_token=request.GET.get("crc_token", ""))
            )
        receipt = services.webhook_event_receive(
            body=request.body, signature=request.headers.get("x-twitter-webhooks-signature")
        )
    except DomainError as exc:
        return JsonResponse(
            {"detail": exc.message, "code": exc.code, "field": exc.field}, status=exc.status_code
        )
    # A replay answers 200 like the first delivery: X retries anything else.
    event = receipt.event
    return JsonResponse({"id": event.pk, "status": event.status, "replay": receipt.is_replay})
