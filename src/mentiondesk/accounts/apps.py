from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "mentiondesk.accounts"
    label = "accounts"
