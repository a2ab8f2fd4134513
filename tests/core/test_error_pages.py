"""The 404 and 500 pages are the desk's own, in its layout, with DEBUG off as in production;
the 500 page needs no request context and no database (whatever broke may be the database)."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import path
from django.views.defaults import server_error

from mentiondesk.accounts.models import User
from mentiondesk.desk.urls import urlpatterns as desk_urlpatterns


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("the database went away")


urlpatterns = [path("boom", boom), *desk_urlpatterns]


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_unknown_pages_get_the_styled_404_with_the_path_escaped(
    client: Client, advocate: User
) -> None:
    for signed_in in (False, True):
        if signed_in:
            client.force_login(advocate)
        response = client.get("/no/such/<script>page")
        assert response.status_code == 404
        page = response.content.decode()
        assert "This page does not exist" in page and "Back to the queue" in page
        assert 'href="/static/mentiondesk/app.css"' in page
        assert "<script>page" not in page and "%3Cscript%3Epage" in page
        assert "<h1>Not Found</h1>" not in page  # Django's bare page


@pytest.mark.django_db
@override_settings(DEBUG=False, ROOT_URLCONF=__name__)
def test_a_crash_gets_the_styled_500_without_the_error(advocate: User) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(advocate)
    response = client.get("/boom")
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page and "Back to the queue" in page
    assert "the database went away" not in page and "Traceback" not in page


# No django_db mark: pytest-django refuses any query, so this proves the page needs none.
@override_settings(DEBUG=False)
def test_the_500_page_renders_without_a_database_or_request_context() -> None:
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
