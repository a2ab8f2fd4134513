from django.urls import path

from . import views

app_name = "replies"
urlpatterns = [
    path("stream/", views.stream, name="stream"),
    path("stream/<path:remote_id>/reply", views.stream_reply, name="stream_reply"),
    path("stream/<path:remote_id>/like", views.stream_like, name="stream_like"),
    path("status/", views.status_updates, name="status"),
    path("status/updates", views.status_update_create, name="status_create"),
]
