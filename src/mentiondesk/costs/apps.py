from django.apps import AppConfig


class CostsConfig(AppConfig):
    name = "mentiondesk.costs"
    label = "costs"
