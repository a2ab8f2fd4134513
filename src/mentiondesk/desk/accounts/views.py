"""Sign in and out. Django's own views; logout only by POST (a link could be forged)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views

from .forms import LoginForm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5 refuses GET); redirects to LOGOUT_REDIRECT_URL."""
