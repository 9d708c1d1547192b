from django.db import migrations

from annotator.audit import triggers


def create(apps, schema_editor):
    triggers.create(schema_editor)


def drop(apps, schema_editor):
    triggers.drop(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
