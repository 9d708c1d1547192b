"""The review tables in the Django admin: browsable, written only by the review services."""

from django.contrib import admin

from annotator.readonly_admin import ReadOnlyAdmin
from annotator.review.models import Review, ReviewItem


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    list_display = ["id", "label", "instance", "reader", "status", "tier", "waiting_since"]
    list_filter = ["status", "tier"]
    list_select_related = ["label", "reader"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["id", "label", "reviewer", "decision", "result", "created_at"]
    list_filter = ["decision"]
    list_select_related = ["label", "reviewer", "result"]
    search_fields = ["reason"]
