from django.contrib import admin

from annotator.labeling.models import Label
from annotator.readonly_admin import ReadOnlyAdmin


@admin.register(Label)
class LabelAdmin(ReadOnlyAdmin):
    """History is append-only: labels change through the app, as new versions."""

    list_display = [
        "instance",
        "reader",
        "author",
        "version",
        "findings",
        "cant_tell",
        "source",
        "withdrawn",
    ]
    list_filter = ["source", "withdrawn", "cant_tell"]
    list_select_related = ["instance", "reader", "author"]
