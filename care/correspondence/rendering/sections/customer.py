"""The customer section: who the letter is for and how to greet them."""

from __future__ import annotations

import datetime as dt

from care.customers.models import Customer


def customer_section(customer: Customer, *, language: str, zone: dt.tzinfo) -> dict[str, str]:
    """``language`` and ``zone`` are the letter's, which may differ from what the customer's row says (an
    unknown zone falls back to UTC; a language without templates to the template's)."""
    return {
        "name": customer.name.strip(),
        "greeting_name": customer.greeting_name.strip(),
        "language": language,
        "time_zone": str(zone),
        "reference": customer.external_ref,
    }
