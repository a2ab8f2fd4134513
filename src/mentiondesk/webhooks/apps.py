from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "mentiondesk.webhooks"
    label = "webhooks"
    verbose_name = "X webhooks"
