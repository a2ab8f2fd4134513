"""The REST API: one NinjaAPI under /api/v1/, mounting each app's router.

Every error is JSON `{"detail": str, "code": str, "field": str | null}` with a 4xx status:
domain errors, validation errors (the field is named), bad JSON, unknown routes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.encoding import escape_uri_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.operation import Operation

from mentiondesk.core.errors import DomainError
from mentiondesk.desk.audit.api import router as audit_router
from mentiondesk.desk.auth import BearerToken
from mentiondesk.desk.costs.api import router as costs_router
from mentiondesk.desk.incidents.api import router as incidents_router
from mentiondesk.desk.replies.api import router as replies_router
from mentiondesk.desk.reports.api import router as reports_router
from mentiondesk.desk.sla.api import router as sla_router
from mentiondesk.desk.tickets.api import router as tickets_router

# Every operation can answer with these, always as an `Error` body; the schema says so, so
# clients (and schemathesis) can rely on nothing else coming back.
ERROR_RESPONSES = {
    400: "A rule of the desk said no; `detail` says which",
    401: "Missing or invalid bearer token",
    403: "Your role may not do this",
    404: "No such object",
    409: "The object changed in a way that stops this (e.g. a newer post, a closed ticket)",
    422: "Invalid input; `field` names it and `errors` lists every problem",
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["detail", "code", "field"],
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "field": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}


class DeskAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        # Operation ids are part of the published contract (clients generated from the schema
        # name their methods after them): they keep the app's name from before the routers
        # moved up to desk/ (`mentiondesk_tickets_api_ticket_list`).
        module = operation.view_func.__module__.replace("mentiondesk.desk.", "mentiondesk.", 1)
        return f"{module}_{operation.view_func.__name__}".replace(".", "_")

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, description in ERROR_RESPONSES.items():
                    operation["responses"].setdefault(status, {"description": description, **ref})
        return schema


api = DeskAPI(
    title="mentiondesk API",
    version="1",
    description="Tickets, play mode and replies. Authenticate with `Authorization: Bearer <token>`"
    " (`mentiondesk token create NAME`).",
    auth=BearerToken(),
    urls_namespace="api",
)


def error(
    request: HttpRequest,
    status: int,
    detail: str,
    *,
    code: str,
    field: str | None = None,
    **extra: Any,
) -> HttpResponse:
    return api.create_response(
        request, {"detail": detail, "code": code, "field": field, **extra}, status=status
    )


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return error(request, exc.status_code, exc.message, code=exc.code, field=exc.field)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    loc = [
        str(part)
        for part in first.get("loc", ())
        if part not in ("body", "query", "path", "payload")
    ]
    field = ".".join(loc) or None
    message = first.get("msg", "invalid request")
    detail = f"{field}: {message}" if field else message
    return error(request, 422, detail, code="invalid", field=field, errors=_plain(exc.errors))


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error(request, 401, "missing or invalid bearer token", code="unauthorized")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error(request, exc.status_code, str(exc), code="error")


@csrf_exempt
def not_found(request: HttpRequest) -> HttpResponse:
    """Any path under /api/v1/ that no operation matches: the JSON error, not Django's HTML
    page (mounted after `api.urls`, so it only sees what ninja did not route)."""
    return error(
        request, 404, f"no such endpoint: {escape_uri_path(request.path)}", code="not_found"
    )


def _plain(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validation errors with only JSON-safe parts (pydantic may attach exceptions in ctx)."""
    return [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in errors
    ]


# Tickets first: the order of the routers is the order of the OpenAPI document.
for _router in (
    tickets_router,
    replies_router,
    audit_router,
    incidents_router,
    reports_router,
    costs_router,
    sla_router,
):
    api.add_router("/", _router)
