from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mentiondesk.core"
    label = "core"
