from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "mentiondesk.incidents"
    label = "incidents"
    verbose_name = "Incidents"
