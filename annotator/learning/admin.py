from django.contrib import admin

from annotator.learning.models import Evaluation, ModelVersion, TrainingRun
from annotator.readonly_admin import ReadOnlyAdmin


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "status", "trigger", "created_at", "finished_at", "error"]
    list_filter = ["status", "trigger"]


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    """Promotion and rollback go through the registry's policy, never through a form."""

    list_display = ["id", "status", "run", "created_at", "promoted_at", "decision"]
    list_filter = ["status"]


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnlyAdmin):
    list_display = ["model", "split", "n", "created_at"]
