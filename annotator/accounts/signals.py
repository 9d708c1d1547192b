"""Every change to an account is audited, wherever it is made: the Django admin, a
management command, the password-change page or a shell.

Signals see each save and each change of a user's groups. What a field was before is read
from the database just before the save. A role changed through `roles.set_role` (or the
user page of the Django admin) is recorded once, by `roles.one_role_change`, not step by
step here. Passwords never reach the audit trail, not even as hashes.
"""

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_save, pre_save
from django.dispatch import receiver

from annotator.accounts import actor
from annotator.accounts.roles import ADMIN, forget, granted_role, group_role, in_role_change
from annotator.audit.log import record

User = get_user_model()

# Field -> the action recorded when it changes.
WATCHED = {
    "username": "user.renamed",
    "is_active": "user.active_changed",
    "is_staff": "user.staff_changed",
    "is_superuser": "user.superuser_changed",
}
# Implied by the role: set_role's single role event says it.
ROLE_FLAGS = ("is_staff", "is_superuser")
_BEFORE = "_dachs_before"
_ROLES_BEFORE = "_dachs_roles_before"


@receiver(pre_save, sender=User)
def remember_fields(sender, instance, update_fields=None, **kwargs) -> None:
    setattr(instance, _BEFORE, None)
    if instance.pk is None:
        return
    fields = [*WATCHED, "password"]
    if update_fields is not None and not set(update_fields) & set(fields):
        return  # e.g. last_login on every sign-in: nothing audited changes
    setattr(instance, _BEFORE, User.objects.filter(pk=instance.pk).values(*fields).first())


@receiver(post_save, sender=User)
def record_account_change(sender, instance, created, update_fields=None, **kwargs) -> None:
    before = instance.__dict__.pop(_BEFORE, None)
    if created:
        record(
            "user.created",
            actor=actor.current(),
            target=instance,
            username=instance.get_username(),
            is_active=instance.is_active,
            is_staff=instance.is_staff,
            is_superuser=instance.is_superuser,
        )
        return
    if before is None:
        return
    saved = WATCHED if update_fields is None else [f for f in WATCHED if f in update_fields]
    role_change = in_role_change(instance.pk)
    for field in saved:
        if role_change and field in ROLE_FLAGS:
            continue
        old, new = before[field], getattr(instance, field)
        if old != new:
            record(WATCHED[field], actor=actor.current(), target=instance, before=old, after=new)
            if field == "is_superuser":
                _superuser_role_change(instance, was_superuser=old)
    if _password_changed(instance, before["password"], update_fields):
        record("user.password_changed", actor=actor.current(), target=instance)


def _superuser_role_change(user, was_superuser: bool) -> None:
    """A superuser is an admin whatever the groups say: the flag alone can change a role."""
    in_groups = group_role(user)
    before = ADMIN if was_superuser else in_groups
    after = ADMIN if user.is_superuser else in_groups
    if before != after:
        forget(user)
        record("user.role_changed", actor=actor.current(), target=user, before=before, after=after)


def _password_changed(user, old_hash: str, update_fields) -> bool:
    if user.password == old_hash:
        return False
    # check_password() re-hashes a correct password with the current hasher and saves only
    # that field, without a new password (`_password` is cleared): not a change by anyone.
    rehash = update_fields is not None and set(update_fields) == {"password"}
    return not (rehash and getattr(user, "_password", None) is None)


@receiver(m2m_changed, sender=User.groups.through)
def record_role_change(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """A change of groups that changes someone's role (user.groups or group.user_set)."""
    if action in ("pre_add", "pre_remove", "pre_clear"):
        users = _affected(instance, reverse, pk_set)
        roles = {u.pk: granted_role(u) for u in users if not in_role_change(u.pk)}
        setattr(instance, _ROLES_BEFORE, roles)
    elif action in ("post_add", "post_remove", "post_clear"):
        before = instance.__dict__.pop(_ROLES_BEFORE, {})
        users = [instance] if not reverse else list(User.objects.filter(pk__in=before))
        for user in users:
            if user.pk not in before:
                continue
            forget(user)
            after = granted_role(user)
            if after != before[user.pk]:
                record(
                    "user.role_changed",
                    actor=actor.current(),
                    target=user,
                    before=before[user.pk],
                    after=after,
                )


def _affected(instance, reverse: bool, pk_set: set[int] | None) -> list:
    if not reverse:
        return [instance]
    if pk_set is None:  # group.user_set.clear()
        return list(instance.user_set.all())
    return list(User.objects.filter(pk__in=pk_set))
