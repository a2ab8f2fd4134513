from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "mentiondesk.desk"
    label = "desk"
    verbose_name = "Desk (pages, API, worker)"
