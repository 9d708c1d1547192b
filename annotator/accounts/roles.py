"""Who may do what. Until roles arrive as groups, the clinic's admin is a staff user."""

from django.contrib.auth.models import AbstractBaseUser


def is_admin(user: AbstractBaseUser) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)
