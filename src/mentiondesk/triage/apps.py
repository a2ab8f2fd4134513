from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "mentiondesk.triage"
    label = "triage"
    verbose_name = "Triage"
