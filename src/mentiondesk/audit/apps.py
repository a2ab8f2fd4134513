from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "mentiondesk.audit"
    label = "audit"
    verbose_name = "Audit log"
