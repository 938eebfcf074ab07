from django.db import migrations

from incidents.detection_models import default_detection_rule_install, default_detection_rule_remove


def install(apps, schema_editor):
    default_detection_rule_install(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0014_bookings_and_detection"),
    ]

    operations = [migrations.RunPython(install, default_detection_rule_remove)]
