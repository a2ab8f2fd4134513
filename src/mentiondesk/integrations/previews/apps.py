from django.apps import AppConfig


class PreviewsConfig(AppConfig):
    name = "mentiondesk.integrations.previews"
    # The label the app had as integrations/links: its tables (links_linkpreview) and
    # migration history keep it, so the rename changes no schema.
    label = "links"
    verbose_name = "Link previews"
