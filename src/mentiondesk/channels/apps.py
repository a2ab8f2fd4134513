from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "mentiondesk.channels"
    label = "channels"
