from django.contrib import admin

from annotator.models import Annotation, Dog, ModelVersion, Prediction, Series, Slice, Study


@admin.register(Dog)
class DogAdmin(admin.ModelAdmin):
    list_display = ["patient_id", "breed", "split", "created_at"]
    list_filter = ["split"]
    readonly_fields = ["split"]


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    list_display = ["description", "plane", "sequence", "study"]
    list_filter = ["plane", "sequence"]


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["slice", "annotator", "finding", "version", "created_at"]
    list_filter = ["finding"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # history is append-only


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "status", "trigger", "created_at", "finished_at"]


admin.site.register([Study, Slice, Prediction])
