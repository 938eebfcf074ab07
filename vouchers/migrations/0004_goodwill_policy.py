"""The standing goodwill policy (vouchers.default_policy)."""

from django.db import migrations

from vouchers.default_policy import default_policy_install, default_policy_remove


class Migration(migrations.Migration):
    dependencies = [("vouchers", "0003_compensation_policy")]

    operations = [migrations.RunPython(default_policy_install, default_policy_remove)]
