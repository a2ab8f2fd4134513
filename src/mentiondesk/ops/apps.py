from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "mentiondesk.ops"
    label = "ops"
    verbose_name = "Operations: health, metrics and logs"
