from django.apps import AppConfig


class LinksConfig(AppConfig):
    name = "mentiondesk.integrations.links"
    label = "links"
    verbose_name = "Link previews"
