"""One stream per customer (issue 13): the default first-notice and update templates name every flight a letter
covers. Templates still worded as shipped (version 1 of 0007, never edited) get the new wording as their next
version; edited ones keep the coordinators' wording."""

from django.db import migrations

from care.correspondence.default_templates import default_templates_upgrade

# care.correspondence.default_templates.wording_digest of the wording 0007 installed before issue 13.
SHIPPED_BEFORE = {
    ("initial_notice", "en"): "f4b7e43d33918fdecf89728fba358aec03f70357b2291ee5d84bf417082cc798",
    ("update", "en"): "86063faa2dbb19b164240ac51b0c34394efc2046910e71b32ca149f618195f8b",
    ("initial_notice", "es"): "68c0e74448722d0b99cf546c09d32bf4bd0f88f575c351ecaf6b33c27ecf3176",
    ("update", "es"): "2b5b344999f4da68a6a44b081a81a1d86f390f30a03751ebb222de4eed8f5624",
    ("initial_notice", "fr"): "4ee48b6b5c083d14d38a3efdfa30ed8295f279c15844528177057a706f05798a",
    ("update", "fr"): "fc43ea4b6f95ac685e9f6ff32df9848dedcbd336fbbb3fb22b688758474a9152",
    ("initial_notice", "de"): "ad1c9244e267538f04d8a8aaa7c32af74e24382187758ff58f34a752de28387e",
    ("update", "de"): "cd33d9bf994329c11fdccee33a17ae8806b5a08d1031fc7d4a65b471d87f09c5",
}


def upgrade(apps, schema_editor):
    default_templates_upgrade(apps, replaced=SHIPPED_BEFORE)


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0014_letter_combined_into"),
    ]

    operations = [
        # Nothing to undo on the way back: the earlier versions are still there, and letters name theirs.
        migrations.RunPython(upgrade, migrations.RunPython.noop),
    ]
