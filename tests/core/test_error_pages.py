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


# The CSRF failure page (desk/errors.py): a form posted without a token the desk trusts.


@pytest.mark.django_db
def test_a_refused_form_gets_the_styled_page_with_the_way_back_and_to_sign_in() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/tickets/1/notes", {"text": "hi"}, HTTP_REFERER="http://testserver/tickets/1/?x=<b>"
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert "This form expired" in page and "Nothing was saved" in page
    assert 'href="/static/mentiondesk/app.css"' in page
    assert "<style" not in page and "style=" not in page, "nothing the CSP refuses"
    assert 'href="/tickets/1/?x=&lt;b&gt;">Go back and try again<' in page
    assert 'href="/accounts/login/?next=/tickets/1/%3Fx%3D%3Cb%3E">Sign in<' in page


@pytest.mark.django_db
def test_a_refused_form_from_another_site_goes_back_to_the_queue(advocate: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(advocate)
    response = client.post("/tickets/1/notes", HTTP_REFERER="https://evil.example/tickets/1/")
    assert response.status_code == 403
    page = response.content.decode()
    assert 'href="/"' in page and "evil.example" not in page
    assert ">Sign in<" not in page, "already signed in"


@pytest.mark.django_db
def test_a_signed_out_poll_is_sent_to_sign_in_not_given_a_page_to_swap() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/tickets/7/presence",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/tickets/7/",
    )
    assert response.status_code == 403
    assert response["HX-Redirect"] == "/accounts/login/?next=/tickets/7/"
    assert response.content == b""


@pytest.mark.django_db
def test_a_signed_in_htmx_request_gets_a_notice_in_the_toast_and_the_page_stays(
    advocate: User,
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(advocate)
    response = client.post(
        "/tickets/7/presence",
        HTTP_HX_REQUEST="true",
        HTTP_HX_BOOSTED="true",
        HTTP_HX_CURRENT_URL="http://testserver/tickets/7/",
    )
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#toast" and response["HX-Reswap"] == "outerHTML"
    assert "HX-Redirect" not in response
    body = response.content.decode()
    assert "<html" not in body and "<main" not in body, "a notice, not a page"
    assert 'id="toast"' in body and "This page expired." in body
    assert 'href="/tickets/7/"' in body
