from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "mentiondesk.reports"
    label = "reports"
    verbose_name = "Reports"
