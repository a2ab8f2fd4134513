from django.urls import path

from . import views

app_name = "tickets"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("play/next", views.play_next, name="next"),
    path("tickets/<int:ticket_id>/", views.detail, name="detail"),
    path("tickets/<int:ticket_id>/activity", views.activity, name="activity"),
    path("tickets/<int:ticket_id>/reply", views.reply, name="reply"),
    path("tickets/<int:ticket_id>/assign-to-me", views.assign_to_me, name="assign"),
    path("tickets/<int:ticket_id>/reassign", views.reassign, name="reassign"),
    path("tickets/<int:ticket_id>/status", views.status, name="status"),
    path("tickets/<int:ticket_id>/notes", views.note, name="note"),
]
