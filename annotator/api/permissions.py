from rest_framework.permissions import BasePermission


class IsClinicAdmin(BasePermission):
    """Only staff may start training runs and change the model."""

    message = "Only an administrator can do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)
