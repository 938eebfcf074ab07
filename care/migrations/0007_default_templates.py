"""Version 1 of the letter templates (initial notice, update, apology, voucher, survey) in en, es, fr, de."""

from django.db import migrations

from care.correspondence.default_templates import default_templates_install


def install(apps, schema_editor):
    default_templates_install(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0006_correspondence"),
    ]

    operations = [
        # Nothing to undo on the way back: coordinators may have edited these since, so they stay.
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
