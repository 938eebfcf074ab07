"""One stream per customer (issue 13): a letter whose place another letter to the same customer takes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0013_letter_paragraph_variant"),
    ]

    operations = [
        migrations.AddField(
            model_name="letter",
            name="combined_into",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="combined_letters",
                to="care.letter",
            ),
        ),
        migrations.AddIndex(
            model_name="letter",
            index=models.Index(
                condition=models.Q(("combined_into__isnull", False)),
                fields=["combined_into"],
                name="letter_combined_into_idx",
            ),
        ),
    ]
