"""Who may do what: three roles, kept as Django groups.

Each role may do everything the one before it may: annotators label; reviewers also review
others' labels; admins also manage users, train, promote or roll back models and export.
Admins are also `is_staff` and superusers (the Django admin); the others are neither. A
Django superuser counts as an admin. An account in no group has no role and may open
nothing but the login page.
"""

from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction

from annotator.audit.log import record

ANNOTATOR = "annotator"
REVIEWER = "reviewer"
ADMIN = "admin"
ROLES: tuple[str, ...] = (ANNOTATOR, REVIEWER, ADMIN)  # lowest first

_CACHE = "_dachs_role"


def role_of(user: AbstractBaseUser | None) -> str | None:
    """The user's highest role, or None (anonymous, inactive or in no role's group)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if not hasattr(user, _CACHE):
        if user.is_superuser:
            role = ADMIN
        else:
            names = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
            role = next((r for r in reversed(ROLES) if r in names), None)
        setattr(user, _CACHE, role)
    return getattr(user, _CACHE)


def has_role(user: AbstractBaseUser | None, role: str) -> bool:
    """Whether the user's role is `role` or one above it."""
    mine = role_of(user)
    return mine is not None and ROLES.index(mine) >= ROLES.index(role)


def can_label(user: AbstractBaseUser | None) -> bool:
    return has_role(user, ANNOTATOR)


def can_review(user: AbstractBaseUser | None) -> bool:
    return has_role(user, REVIEWER)


def is_admin(user: AbstractBaseUser | None) -> bool:
    return has_role(user, ADMIN)


def forget(user: AbstractBaseUser) -> None:
    """Drop the cached role (after a change in this process)."""
    if hasattr(user, _CACHE):
        delattr(user, _CACHE)


def set_role(user: AbstractBaseUser, role: str, actor: AbstractBaseUser | None = None) -> None:
    """Put the user in exactly one role's group; admins are staff, the others are not."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    with transaction.atomic():
        forget(user)
        before = role_of(user) if user.pk else None
        groups = {g.name: g for g in ensure_groups()}
        # The Django admin needs model permissions too: an admin holds them all.
        user.is_staff = user.is_superuser = role == ADMIN
        user.save()
        user.groups.remove(*[groups[r] for r in ROLES if r != role])
        user.groups.add(groups[role])
        forget(user)
        if before != role:
            record("user.role_changed", actor=actor, target=user, before=before, after=role)


def ensure_groups() -> list[Group]:
    return [Group.objects.get_or_create(name=name)[0] for name in ROLES]
