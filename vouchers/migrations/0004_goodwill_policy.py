"""The standing goodwill policy the demo and a fresh install start from; coordinators edit it in the admin.

Southwest's "two round-trip vouchers" after the 2022 meltdown for cancellations, one voucher for a long delay,
and an uplift for loyal customers and for disruptions within our control. Created only where the slug is free,
so a coordinator's edits survive, and removed on reversal only if untouched by slug.
"""

from decimal import Decimal

from django.db import migrations

RULES = (
    {
        "slug": "overnight-stay-costs",
        "name": "Overnight stay: hotel and meals",
        "description": "Stacks with any voucher.",
        "priority": 5,
        "exclusive": False,
        "when_overnight_stay": True,
        "award_kind": "cash_note",
        "voucher_count": 0,
        "amount": None,
        "cash_note": "hotel, meals and transport to and from the hotel are reimbursed against receipts",
    },
    {
        "slug": "loyalty-uplift",
        "name": "Gold and Platinum uplift",
        "description": "On top of the cancellation or delay voucher.",
        "priority": 10,
        "exclusive": False,
        "when_cancelled": True,
        "min_delay_minutes": 180,
        "loyalty_tiers": ["gold", "platinum"],
        "voucher_count": 1,
        "amount": Decimal("100.00"),
    },
    {
        "slug": "within-control-uplift",
        "name": "Our fault uplift",
        "description": "When the cause was within our control (crew, mechanical, IT), one more voucher.",
        "priority": 15,
        "exclusive": False,
        "when_cancelled": True,
        "min_delay_minutes": 180,
        "control": "within",
        "voucher_count": 1,
        "amount": Decimal("100.00"),
    },
    {
        "slug": "cancelled-round-trips",
        "name": "Cancelled flight: two round trips",
        "description": "Like Southwest after its 2022 meltdown, whatever the cause.",
        "priority": 20,
        "exclusive": True,
        "when_cancelled": True,
        "voucher_count": 2,
        "amount": Decimal("200.00"),
    },
    {
        "slug": "long-delay",
        "name": "Delay of 3 hours or more",
        "priority": 30,
        "exclusive": True,
        "min_delay_minutes": 180,
        "voucher_count": 1,
        "amount": Decimal("150.00"),
    },
    {
        "slug": "delay",
        "name": "Delay of 1 hour or more",
        "priority": 40,
        "exclusive": True,
        "min_delay_minutes": 60,
        "voucher_count": 1,
        "amount": Decimal("50.00"),
    },
)


def create_policy(apps, schema_editor):
    rule_model = apps.get_model("vouchers", "CompensationRule")
    for spec in RULES:
        values = {"currency": "USD", "validity_days": 365, **spec}
        slug = values.pop("slug")
        rule_model.objects.get_or_create(slug=slug, defaults=values)


def remove_policy(apps, schema_editor):
    rule_model = apps.get_model("vouchers", "CompensationRule")
    rule_model.objects.filter(slug__in=[spec["slug"] for spec in RULES], vouchers__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("vouchers", "0003_compensation_policy")]

    operations = [migrations.RunPython(create_policy, remove_policy)]
