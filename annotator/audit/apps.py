from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "annotator.audit"
    verbose_name = "Audit trail"
