"""DRF permission classes: every API view names one."""

from rest_framework.permissions import BasePermission, IsAuthenticated

from annotator.accounts.roles import is_admin

__all__ = ["IsAuthenticated", "IsClinicAdmin"]


class IsClinicAdmin(BasePermission):
    """Only the clinic's admin may start training runs and change the model."""

    message = "Only an administrator can do this."

    def has_permission(self, request, view) -> bool:
        return is_admin(request.user)
