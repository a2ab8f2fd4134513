from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "mentiondesk.sla"
    label = "sla"
    verbose_name = "SLA"
