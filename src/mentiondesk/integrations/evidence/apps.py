from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "mentiondesk.integrations.evidence"
    label = "evidence"
    verbose_name = "Evidence (status page, issues, forum, helpdesk)"
