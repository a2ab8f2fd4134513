from django.apps import AppConfig


class RepliesConfig(AppConfig):
    name = "mentiondesk.replies"
    label = "replies"
