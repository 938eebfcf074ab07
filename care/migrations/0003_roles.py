from typing import Any

from django.db import migrations


def create_roles(apps: Any, schema_editor: Any) -> None:
    # Permissions are normally created after migrate finishes; create them now so
    # that a fresh database has fully equipped groups from this migration on.
    from django.contrib.auth.management import create_permissions

    from care.core.roles import sync_roles

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0002_initial"),
        ("incidents", "0001_initial"),
        ("vouchers", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
