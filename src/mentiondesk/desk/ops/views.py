"""Liveness, readiness and metrics for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from mentiondesk.ops import selectors
from mentiondesk.ops.metrics import metrics_render


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering. Deliberately touches nothing else, so a database
    outage makes instances unready, not dead (restarting them would not help)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = selectors.readiness_checks()
    ready = all(c.ok for c in checks)
    return JsonResponse(
        {
            "status": "ready" if ready else "not ready",
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
        },
        status=200 if ready else 503,
    )


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    # Not open by default: behind a reverse proxy every client looks local, so an address
    # check would expose the figures; a bearer token is what Prometheus sends anyway.
    token = settings.METRICS_TOKEN
    if not token:
        return JsonResponse(
            {
                "detail": "metrics are off: set MENTIONDESK_METRICS_TOKEN and scrape with "
                "`Authorization: Bearer <token>`",
                "code": "metrics_disabled",
            },
            status=404,
        )
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        return JsonResponse(
            {"detail": "a valid bearer token is required", "code": "unauthorized"}, status=401
        )
    return HttpResponse(metrics_render(), content_type=CONTENT_TYPE_LATEST)
