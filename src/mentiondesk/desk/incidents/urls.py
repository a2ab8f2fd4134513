from django.urls import path

from . import views

app_name = "incidents"
urlpatterns = [
    path("incidents/<int:surge_id>/reply", views.reply_all, name="reply"),
    path("incidents/<int:surge_id>/resolve", views.resolve, name="resolve"),
]
