from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from annotator.accounts.forms import ThrottledAdminAuthenticationForm
from annotator.accounts.models import LoginFailure
from annotator.accounts.roles import one_role_change
from annotator.readonly_admin import ReadOnlyAdmin

admin.site.login_form = ThrottledAdminAuthenticationForm

User = get_user_model()


class NoDeleteUserAdmin(UserAdmin):
    """Users are deactivated, never deleted: their labels and audit rows point at them."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_related(self, request, form, formsets, change) -> None:
        # The form sets the groups by removing the old ones, then adding the new ones:
        # audited as one role change, not as a passage through "no role".
        with one_role_change(form.instance, actor=request.user):
            super().save_related(request, form, formsets, change)


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
