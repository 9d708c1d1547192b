from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "annotator.accounts"
    verbose_name = "Accounts and roles"
