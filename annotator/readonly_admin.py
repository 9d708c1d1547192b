"""Admin pages that show rows written by the app, and never let a form change them."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browsable, never added, edited or deleted by hand: the app's services own these rows."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
