from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "mentiondesk.intake"
    label = "intake"
    verbose_name = "Intake (poll, webhook, import)"
