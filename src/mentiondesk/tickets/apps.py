from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "mentiondesk.tickets"
    label = "tickets"
