from django.apps import AppConfig


class WorklistConfig(AppConfig):
    name = "annotator.worklist"
    verbose_name = "Work queue and leases"

    def ready(self) -> None:
        from annotator.worklist import signals  # noqa: F401 (releases leases on sign-out)
