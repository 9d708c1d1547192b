from django.contrib import admin

from annotator.readonly_admin import ReadOnlyAdmin
from annotator.worklist.models import Lease


@admin.register(Lease)
class LeaseAdmin(ReadOnlyAdmin):
    list_display = ["kind", "instance", "holder", "expires_at"]
    list_filter = ["kind"]
