from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "mentiondesk.policy"
    label = "policy"
