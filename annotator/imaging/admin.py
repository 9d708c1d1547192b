from django.contrib import admin

from annotator.imaging.models import Dog, Instance, Series, Study
from annotator.readonly_admin import ReadOnlyAdmin


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
