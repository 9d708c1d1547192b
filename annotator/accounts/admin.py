from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from annotator.accounts.forms import ThrottledAdminAuthenticationForm
from annotator.accounts.models import LoginFailure
from annotator.readonly_admin import ReadOnlyAdmin

admin.site.login_form = ThrottledAdminAuthenticationForm

User = get_user_model()


class NoDeleteUserAdmin(UserAdmin):
    """Users are deactivated, never deleted: their labels and audit rows point at them."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, NoDeleteUserAdmin)


@admin.register(LoginFailure)
class LoginFailureAdmin(ReadOnlyAdmin):
    """Read-only: failures are written by the sign-in forms alone."""

    list_display = ["at", "username", "address"]
    search_fields = ["username", "address"]
    date_hierarchy = "at"
    ordering = ["-at"]
