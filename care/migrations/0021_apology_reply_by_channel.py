"""Apologies read on the page an SMS links to (issue 15) cannot be answered by "reply to this email": the default
apology templates say how to write or call instead when the letter's channel is SMS. Templates still worded as
shipped get the new wording as their next version; edited ones keep the coordinators' (the editor's help lists
``channel`` and ``contact.email``)."""

from django.db import migrations

from care.correspondence.default_templates import default_templates_upgrade

# care.correspondence.default_templates.wording_digest of the apology wording shipped before this migration.
SHIPPED_BEFORE = {
    ("apology", "en"): "fb0c8004f6e4a474885edcc5b6820aa8ad85fe750cd63819775a326580889ee8",
    ("apology", "es"): "75cee62148981ee4bfd3af0dfdaba4c58342fa20f0422efeb7332b18d2163b59",
    ("apology", "fr"): "dd697995bea4ca978bd73ef6941d1313ce6de0b7750d62020eb8caf62f5a8919",
    ("apology", "de"): "c85457f843f9dafa262910556443492a81295965b7c089d12bee279ca3042802",
}


def upgrade(apps, schema_editor):
    default_templates_upgrade(apps, replaced=SHIPPED_BEFORE)


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0020_sms_channel"),
    ]

    operations = [
        # Nothing to undo on the way back: the earlier versions are still there, and letters name theirs.
        migrations.RunPython(upgrade, migrations.RunPython.noop),
    ]
