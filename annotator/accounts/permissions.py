"""DRF permission classes: every API view names the least role that may use it."""

from rest_framework.permissions import BasePermission

from annotator.accounts.roles import can_label, can_review, is_admin

__all__ = ["IsAnnotator", "IsReviewer", "IsClinicAdmin"]


class IsAnnotator(BasePermission):
    """Any role: annotators, reviewers and admins. An account without a role is refused."""

    message = "Your account has no role in Dachs yet: ask the clinic's admin."

    def has_permission(self, request, view) -> bool:
        return can_label(request.user)


class IsReviewer(BasePermission):
    """Reviewers and admins."""

    message = "Only a reviewer can do this."

    def has_permission(self, request, view) -> bool:
        return can_review(request.user)


class IsClinicAdmin(BasePermission):
    """Only the clinic's admin may manage users, start training runs and change the model."""

    message = "Only an administrator can do this."

    def has_permission(self, request, view) -> bool:
        return is_admin(request.user)
