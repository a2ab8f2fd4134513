"""The desk's URLs plus one view that fails, to see the desk's own 500 page in a browser."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from mentiondesk.desk.urls import urlpatterns as desk_urlpatterns


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug, on purpose")


urlpatterns = [path("broken/", broken), *desk_urlpatterns]
