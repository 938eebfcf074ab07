# A customer may have several flights (booking legs) in one incident: an affected row is unique per incident,
# customer and flight instead of per incident and customer; an import counts the customers of its file, which
# its rows no longer do (issue 18).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0016_letter_handover_at"),
        ("incidents", "0010_update_translations"),
    ]

    operations = [
        # The new key first: it holds for every existing row, which the old, narrower one kept unique already.
        migrations.AddConstraint(
            model_name="affectedcustomer",
            constraint=models.UniqueConstraint(
                fields=("incident", "customer", "carrier", "flight_number", "flight_date"),
                name="affected_unique_flight_per_customer",
                violation_error_message="This customer is already recorded on this flight for this incident.",
            ),
        ),
        migrations.RemoveConstraint(
            model_name="affectedcustomer",
            name="affected_unique_customer_per_incident",
        ),
        migrations.AddField(
            model_name="importjob",
            name="customers_in_file",
            field=models.PositiveIntegerField(default=0, verbose_name="customers in the file"),
        ),
    ]
