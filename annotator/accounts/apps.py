from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "annotator.accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        from annotator.accounts import signals  # noqa: F401 (connects the audit signals)
