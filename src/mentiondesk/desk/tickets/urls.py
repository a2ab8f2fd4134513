from django.urls import path

from . import live, views, worklists

app_name = "tickets"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("pulse", live.queue_pulse, name="pulse"),
    path("play/next", views.play_next, name="next"),
    path("search", views.search, name="search"),
    path("saved-searches", worklists.saved_search_create, name="saved_search_create"),
    path(
        "saved-searches/<int:saved_search_id>/rename",
        worklists.saved_search_rename,
        name="saved_search_rename",
    ),
    path(
        "saved-searches/<int:saved_search_id>/delete",
        worklists.saved_search_delete,
        name="saved_search_delete",
    ),
    path("tickets/bulk", worklists.bulk_apply, name="bulk"),
    path("tickets/<int:ticket_id>/", views.detail, name="detail"),
    path("tickets/<int:ticket_id>/activity", views.activity, name="activity"),
    path("tickets/<int:ticket_id>/evidence", views.evidence, name="evidence"),
    path("tickets/<int:ticket_id>/arrivals", live.arrivals, name="arrivals"),
    path("tickets/<int:ticket_id>/macros", live.macros, name="macros"),
    path("tickets/<int:ticket_id>/reply", views.reply, name="reply"),
    path(
        "tickets/<int:ticket_id>/replies/<int:reply_id>/retry",
        views.reply_retry,
        name="reply_retry",
    ),
    path("tickets/<int:ticket_id>/assign-to-me", views.assign_to_me, name="assign"),
    path("tickets/<int:ticket_id>/reassign", views.reassign, name="reassign"),
    path("tickets/<int:ticket_id>/status", views.status, name="status"),
    path("tickets/<int:ticket_id>/notes", views.note, name="note"),
    path("tickets/<int:ticket_id>/intent", views.intent, name="intent"),
    path("tickets/<int:ticket_id>/hand-back", views.hand_back, name="hand_back"),
    path("tickets/<int:ticket_id>/escalate", views.escalate, name="escalate"),
    path("tickets/<int:ticket_id>/spam-report", views.report_spam, name="report_spam"),
    path("tickets/<int:ticket_id>/direct-messages", views.direct_message, name="dm"),
    path("tickets/<int:ticket_id>/presence", views.presence, name="presence"),
    path("tickets/<int:ticket_id>/posts/<path:remote_id>/like", views.like, name="like"),
    path(
        "tickets/<int:ticket_id>/posts/<path:remote_id>/suggest-retweet",
        views.suggest_retweet,
        name="suggest_retweet",
    ),
    path(
        "tickets/<int:ticket_id>/posts/<path:remote_id>/delete",
        views.delete_post,
        name="delete_post",
    ),
]
