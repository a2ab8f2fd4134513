"""The desk's answer when Django's CSRF check refuses a form (settings.CSRF_FAILURE_VIEW).

Django's own page has an inline style the CSP refuses, and htmx would swap it, a whole page,
into whatever panel asked: the ticket page's presence heartbeat posts every few seconds, so a
page left open across a sign-out drew it into the presence strip."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A POST whose form the desk cannot trust: the page stayed open across a sign-out, or a
    sign-in in another tab (which changes the token), or the cookies were cleared. Nothing
    was done; `reason` (Django's) is in the django.security.csrf log already.

    A browser's form gets a 403 page in the desk's layout: the form expired, a way back to
    the page it came from and, when signed out, to sign in. An htmx request (a poll, a
    boosted form) never gets a page to swap into a panel: signed out, an `HX-Redirect` to
    sign in and come back to the page; still signed in (the token changed under the page), a
    small notice in the page's toast slot, leaving the page and what was typed as they are."""
    back = same_site_path(
        request, request.headers.get("HX-Current-URL") or request.headers.get("Referer") or ""
    ) or reverse("tickets:queue")
    login_url = redirect_to_login(back).url
    if request.headers.get("HX-Request") != "true":
        context = {"back": back, "login_url": login_url}
        return render(request, "desk/csrf_failure.html", context, status=403)
    if not request.user.is_authenticated:
        response = HttpResponse(status=403)
        response["HX-Redirect"] = login_url
        return response
    response = render(request, "desk/csrf_failure.html#expired-notice", {"back": back}, status=403)
    response["HX-Retarget"] = "#toast"
    response["HX-Reswap"] = "outerHTML"
    return response


def same_site_path(request: HttpRequest, url: str) -> str:
    """`url`'s path and query when it is one of the desk's own pages, else ""."""
    if not url or not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
