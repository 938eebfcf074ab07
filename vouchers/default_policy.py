"""The standing goodwill policy a fresh install (and the demo) starts from; coordinators edit it in the admin.

Southwest's "two round-trip vouchers" after its December 2022 meltdown for a cancellation, one voucher for a long
delay and a smaller one for a delay, an uplift for Gold and Platinum members and for disruptions within our
control (placed before the exclusive rules, so they stack), and a cash note for an overnight stay.
Installed by a data migration with the migration's ``apps``; tests call it again after a flush.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

RULES: tuple[dict[str, Any], ...] = (
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


def default_policy_install(apps: Any, schema_editor: Any = None) -> int:
    """Create the shipped rules whose slug is free (a coordinator's edits survive); return how many."""
    created = 0
    rule_model = apps.get_model("vouchers", "CompensationRule")
    for spec in RULES:
        values = {"currency": "USD", "validity_days": 365, **spec}
        slug = values.pop("slug")
        _, made = rule_model.objects.get_or_create(slug=slug, defaults=values)
        created += made
    return created


def default_policy_remove(apps: Any, schema_editor: Any = None) -> None:
    """Remove the shipped rules no voucher was issued by."""
    rule_model = apps.get_model("vouchers", "CompensationRule")
    rule_model.objects.filter(slug__in=[spec["slug"] for spec in RULES], vouchers__isnull=True).delete()
