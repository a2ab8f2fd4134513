from django.apps import AppConfig


class SlackConfig(AppConfig):
    name = "mentiondesk.integrations.slack"
    label = "slack"
    verbose_name = "Slack"
