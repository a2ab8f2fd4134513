"""Sign in and out. Django's own views; logout only by POST (a link could be forged)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from mentiondesk.desk.errors import same_site_path

from .forms import LoginForm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """A poll of an open page (htmx, not a boosted navigation) that found the session gone
        was redirected here, and the browser followed the redirect in the background. The form
        is not drawn for it: drawing it sets a CSRF cookie, and one set by a poll's answer
        after the sign-in page itself loaded (the page's polls run together) left that page's
        form refused with "403 CSRF check". The poll gets where to go instead: sign in, then
        back to the page it polls for."""
        if request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted"):
            back = same_site_path(request, request.headers.get("HX-Current-URL", ""))
            response = HttpResponse()
            response["HX-Redirect"] = redirect_to_login(back or reverse("tickets:queue")).url
            return response
        return super().get(request, *args, **kwargs)


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5 refuses GET); redirects to LOGOUT_REDIRECT_URL."""
