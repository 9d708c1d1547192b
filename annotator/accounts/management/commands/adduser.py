"""`manage.py adduser NAME --role ROLE [--update]`: accounts without the Django admin.

The password is typed twice at a prompt, or read as one line from standard input when
that is not a terminal (scripts, provisioning). It never appears in the arguments (where
`ps` and the shell history would show it), in the output or in the audit trail.
"""

import getpass
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, transaction

from annotator.accounts.roles import ROLES, granted_role, set_role


class Command(BaseCommand):
    help = "Create a user in a role, or with --update change an existing user's role/password."
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=ROLES, help="required for a new user")
        parser.add_argument(
            "--update",
            action="store_true",
            help="change an existing user: the role if given, the password unless left empty",
        )

    def handle(self, *args, username: str, role: str | None, update: bool, **options) -> None:
        self.stdin = options.get("stdin") or sys.stdin  # tests pass their own
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None and update:
            raise CommandError(f"There is no user named {username!r} to update.")
        if user is not None and not update:
            raise CommandError(
                f"A user named {username!r} already exists: "
                "use --update to change their role or password."
            )
        if user is None:
            if role is None:
                raise CommandError("A new user needs a role: --role " + "|".join(ROLES) + ".")
            user = User(username=username)
            _check_username(user)
        password = self.read_password(required=not update)
        if password:
            try:
                validate_password(password, user)
            except ValidationError as error:
                raise CommandError("Password refused: " + " ".join(error.messages)) from None

        created = user.pk is None
        before = granted_role(user)
        try:
            with transaction.atomic():
                if password:
                    user.set_password(password)
                if created or password:
                    user.save()
                if role is not None:
                    set_role(user, role)
        except IntegrityError:  # the same name added by someone else meanwhile
            raise CommandError(f"A user named {username!r} already exists.") from None
        self.stdout.write(self.summary(user, created, before, role, bool(password)))

    def read_password(self, required: bool) -> str:
        """Typed twice at a terminal, else the first line of standard input; with --update
        an empty answer keeps the current password."""
        keep = "" if required else " (empty keeps the current one)"
        if self.stdin.isatty():
            first = getpass.getpass(f"Password{keep}: ")
            if first and getpass.getpass("Password (again): ") != first:
                raise CommandError("The two passwords differ; nothing was changed.")
        else:
            first = self.stdin.readline().rstrip("\r\n")
        if required and not first:
            raise CommandError("A new user needs a password; nothing was changed.")
        return first

    def summary(
        self, user, created: bool, before: str | None, role: str | None, password: bool
    ) -> str:
        name = user.get_username()
        if created:
            return self.style.SUCCESS(f"Created {name} as {role}.")
        changes = []
        if role is not None and role != before:
            changes.append(f"role {before or 'none'} -> {role}")
        if password:
            changes.append("password changed")
        return f"Updated {name}: {', '.join(changes)}." if changes else f"{name}: nothing changed."


def _check_username(user) -> None:
    field = user._meta.get_field(user.USERNAME_FIELD)
    try:
        field.clean(user.get_username(), user)
    except ValidationError as error:
        raise CommandError("Username refused: " + " ".join(error.messages)) from None
