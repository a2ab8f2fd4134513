"""schemathesis against the webhook endpoint X calls: the CRC challenge and event bodies of any
shape, signed and not, are answered with a documented status and never with a 5xx. The
endpoint is not part of the REST API's document (X, not a client, calls it), so its contract
is written here, as X's Account Activity API describes it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.test import override_settings
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, status_code_conformance
from schemathesis.core import NOT_SET

from mentiondesk.channels.models import Handle
from mentiondesk.webhooks.models import WebhookEvent
from mentiondesk.wsgi import application
from tests.conftest import in_ci

SECRET = "fuzz-consumer-secret"
ERROR = {
    "application/json": {
        "schema": {
            "type": "object",
            "required": ["detail", "code"],
            "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
        }
    }
}
CONTRACT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "mentiondesk webhook", "version": "1"},
    "paths": {
        "/webhooks/x": {
            "get": {
                "parameters": [{"name": "crc_token", "in": "query", "schema": {"type": "string"}}],
                "responses": {
                    "200": {
                        "description": "the challenge answered",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["response_token"],
                                    "properties": {"response_token": {"type": "string"}},
                                }
                            }
                        },
                    },
                    "400": {"description": "no crc_token", "content": ERROR},
                },
            },
            "post": {
                "parameters": [
                    {
                        "name": "x-twitter-webhooks-signature",
                        "in": "header",
                        "schema": {"type": "string"},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {}}},
                },
                "responses": {
                    "200": {"description": "kept (or a replay of one kept)"},
                    "403": {"description": "signature missing or wrong", "content": ERROR},
                },
            },
        }
    },
}
schema = schemathesis.openapi.from_dict(CONTRACT)
schema.app = application
EXAMPLES = 60 if in_ci() else 20


def signature(body: bytes) -> str:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


@pytest.fixture
def _webhooks_on(main_handle: Handle) -> Iterator[None]:
    with override_settings(X_CONSUMER_SECRET=SECRET):
        yield


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.usefixtures("_webhooks_on", "_connection_kept")
def test_the_webhook_keeps_its_contract(case: Any) -> None:
    checks = [not_a_server_error, status_code_conformance]
    case.call_and_validate(checks=checks)
    if case.method == "POST" and case.body is not NOT_SET:
        # The same body signed as X signs it: kept whatever it holds, never a 5xx.
        body = json.dumps(case.body).encode()
        kept = WebhookEvent.objects.count()
        response = case.call(
            headers={"x-twitter-webhooks-signature": signature(body)},
            data=body,
            json=None,
        )
        assert response.status_code == 200, response.text
        assert WebhookEvent.objects.count() in (kept, kept + 1)  # a replay is not kept twice
