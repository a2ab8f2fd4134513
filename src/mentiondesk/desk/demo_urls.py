from django.urls import path

from . import demo_views

app_name = "demo"
urlpatterns = [
    path("slack/", demo_views.slack, name="slack"),
    path("tour/", demo_views.tour, name="tour"),
]
