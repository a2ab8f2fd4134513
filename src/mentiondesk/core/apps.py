from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mentiondesk.core"
    label = "core"

    def ready(self) -> None:
        from django.core import checks
        from django.core.signals import request_finished

        from . import lookups  # noqa: F401  (registers field__literal_in)
        from .checks import deploy_settings_check
        from .gcfreeze import request_finished_freeze

        request_finished.connect(request_finished_freeze, dispatch_uid="gcfreeze")
        checks.register(deploy_settings_check, checks.Tags.security, deploy=True)
