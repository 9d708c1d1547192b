from django.apps import AppConfig


class WorklistConfig(AppConfig):
    name = "annotator.worklist"
    verbose_name = "Work queue and leases"
