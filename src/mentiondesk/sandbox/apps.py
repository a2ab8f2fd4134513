from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "mentiondesk.sandbox"
    label = "sandbox"
    verbose_name = "Sandbox X network"
