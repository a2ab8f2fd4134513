"""Every form of the web UI refuses a POST without the CSRF token, even from a signed-in lead.
The URL list is walked, so a view added later is covered without editing this test."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from mentiondesk.accounts.models import User

# Not cookie-authenticated, so CSRF does not apply: the REST API takes bearer tokens, X signs
# webhook events with HMAC, and the probes only answer GET.
EXEMPT = re.compile(r"^/(api/|webhooks/|healthz|readyz|metrics|static/)")


def _paths(patterns: list[URLPattern | URLResolver], prefix: str = "") -> list[str]:
    paths = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            paths += _paths(pattern.url_patterns, route)
        else:
            # Any value of the right shape: CSRF is checked before the view looks it up.
            filled = re.sub(r"<int:[^>]+>", "1", route)
            filled = re.sub(r"<(?:str:)?[^>]+>", "x", filled)
            paths.append("/" + filled.lstrip("^").rstrip("$"))
    return paths


@pytest.mark.django_db
def test_every_form_refuses_a_post_without_the_csrf_token(lead: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(lead)
    checked = []
    for path in _paths(get_resolver().url_patterns):
        if EXEMPT.match(path) or path.startswith("/admin/"):
            continue
        response = client.post(path, {"text": "hello", "reason": "x", "status": "solved"})
        if response.status_code == 405:  # a GET-only page: no form posts here
            continue
        assert response.status_code == 403, (path, response.status_code)
        assert b"CSRF" in response.content, path
        checked.append(path)
    assert len(checked) >= 15, checked
    assert "/tickets/1/reply" in checked
    assert "/accounts/login/" in checked
