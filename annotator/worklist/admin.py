from django.contrib import admin

from annotator.imaging.admin import ReadOnlyAdmin
from annotator.worklist.models import Lease


@admin.register(Lease)
class LeaseAdmin(ReadOnlyAdmin):
    list_display = ["kind", "instance", "holder", "expires_at"]
    list_filter = ["kind"]
