"""A worsened impact is told (issue 14): letters record the impact they told, an update batch may be written only to
the passengers whose flight got worse, and the default update templates lead with what changed for them. Templates
still worded as shipped by 0015 get the new wording as their next version; edited ones keep the coordinators'."""

from django.db import migrations, models

from care.correspondence.default_templates import default_templates_upgrade

# care.correspondence.default_templates.wording_digest of the update wording 0015 installed.
SHIPPED_BEFORE = {
    ("update", "en"): "0f448b20bb6ff889377bd99049f2a4d54563fc52efd963acf5bd028b48ccd686",
    ("update", "es"): "f3172a8ee9c8d816f28790164b35becb842374e7b663b81e60789b219fce876b",
    ("update", "fr"): "4f99fa068f9bbad0500f5b209e27071c7c0cd4e9b606b07caf9cde8b6911177d",
    ("update", "de"): "692c95ba742db8dd1f81a90c0db9c86116afc97d6067010d82db1e710b4d7ea8",
}


def upgrade(apps, schema_editor):
    default_templates_upgrade(apps, replaced=SHIPPED_BEFORE)


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0017_update_batch_waiting_languages"),
    ]

    operations = [
        migrations.AddField(
            model_name="letter",
            name="impact_told",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="letterbatch",
            name="for_impact_change",
            field=models.BooleanField(default=False, verbose_name="for a worsened impact"),
        ),
        # Nothing to undo on the way back: the earlier versions are still there, and letters name theirs.
        migrations.RunPython(upgrade, migrations.RunPython.noop),
    ]
