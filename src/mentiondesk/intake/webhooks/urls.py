from django.urls import path

from . import views

app_name = "webhooks"
urlpatterns = [path("x", views.x_webhook, name="x")]
