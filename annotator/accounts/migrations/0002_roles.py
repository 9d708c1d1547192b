"""The three roles as groups; existing accounts keep what they could do before roles:
staff become admins, every other active account an annotator."""

from django.db import migrations

ROLES = ("annotator", "reviewer", "admin")


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("auth", "User")
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in ROLES}
    for user in User.objects.filter(is_active=True):
        if user.groups.filter(name__in=ROLES).exists():
            continue
        user.groups.add(groups["admin" if user.is_staff or user.is_superuser else "annotator"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
