"""Who may do what: three roles, kept as Django groups.

Each role may do everything the one before it may: annotators label; reviewers also review
others' labels; admins also manage users, train, promote or roll back models and export.
Admins are also `is_staff` and superusers (the Django admin); the others are neither. A
Django superuser counts as an admin. An account in no group has no role and may open
nothing but the login page.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction

from annotator.accounts import actor as acting
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
        setattr(user, _CACHE, granted_role(user))
    return getattr(user, _CACHE)


def granted_role(user: AbstractBaseUser) -> str | None:
    """The role the account holds in the database, active or not (uncached): what an
    audit event calls the role before and after a change."""
    if user.pk is None:
        return None
    return ADMIN if user.is_superuser else group_role(user)


def group_role(user: AbstractBaseUser) -> str | None:
    """The highest role among the user's groups (a superuser's groups may say less)."""
    names = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    return next((r for r in reversed(ROLES) if r in names), None)


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
    with transaction.atomic(), one_role_change(user, actor):
        groups = {g.name: g for g in ensure_groups()}
        # The Django admin needs model permissions too: an admin holds them all.
        user.is_staff = user.is_superuser = role == ADMIN
        user.save()
        user.groups.remove(*[groups[r] for r in ROLES if r != role])
        user.groups.add(groups[role])


# Users whose role is being changed in several steps right now (see one_role_change).
_changing: ContextVar[tuple[AbstractBaseUser, ...]] = ContextVar("dachs_role_change", default=())


@contextmanager
def one_role_change(
    user: AbstractBaseUser, actor: AbstractBaseUser | None = None
) -> Iterator[None]:
    """Audit the steps inside (staff flags saved, groups removed, groups added) as one
    "user.role_changed" event, recorded at the end if the role differs.

    Without it the signals in signals.py would record every step: a change from reviewer
    to admin would read reviewer -> none -> admin, plus two flag changes.
    """
    before = granted_role(user)
    token = _changing.set((*_changing.get(), user))
    try:
        yield
    finally:
        _changing.reset(token)
    forget(user)
    after = granted_role(user)
    if before != after:
        who = actor if actor is not None else acting.current()
        record("user.role_changed", actor=who, target=user, before=before, after=after)


def in_role_change(user_id: int | None) -> bool:
    """Whether a `one_role_change` around this user will record what happens to it."""
    return user_id is not None and any(u.pk == user_id for u in _changing.get())


def ensure_groups() -> list[Group]:
    return [Group.objects.get_or_create(name=name)[0] for name in ROLES]
