from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "mentiondesk.channels"
    label = "channels"

    def ready(self) -> None:
        from django.core import checks

        from .checks import credentials_settings_check
        from .connectors.ratelimits import rate_limits_share
        from .ratelimits import DatabaseWindows

        # Workers and web processes share every network's spent windows: none calls before a reset.
        rate_limits_share(DatabaseWindows())
        checks.register(credentials_settings_check)
