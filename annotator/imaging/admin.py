from django.contrib import admin

from annotator.imaging.models import Dog, Instance, Series, Study


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by ingest: browsable, never edited or deleted by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Dog)
class DogAdmin(ReadOnlyAdmin):
    list_display = ["patient_id", "name", "breed", "split", "created_at"]
    list_filter = ["split"]
    search_fields = ["patient_id", "name"]


@admin.register(Study)
class StudyAdmin(ReadOnlyAdmin):
    list_display = ["study_instance_uid", "dog", "study_date"]


@admin.register(Series)
class SeriesAdmin(ReadOnlyAdmin):
    list_display = ["description", "plane", "sequence", "study"]
    list_filter = ["plane", "sequence"]


@admin.register(Instance)
class InstanceAdmin(ReadOnlyAdmin):
    list_display = ["sop_instance_uid", "series", "instance_number", "rows", "columns"]
    list_select_related = ["series"]
