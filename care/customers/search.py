"""Normalising what people type into the exact keys the indexes hold."""

from __future__ import annotations

import re

from django.db.models import Q, QuerySet
from django.db.models.functions import Upper

from care.customers.models import Customer

_FLIGHT = re.compile(r"^([A-Z0-9]{2})\s*-?\s*(\d{1,4})$")
_PHONE_CHARS = re.compile(r"[\s().-]")


def customers_matching(term: str) -> QuerySet[Customer]:
    """Customers whose reference, email or phone is exactly ``term`` (case and spacing forgiven)."""
    folded = term.strip().upper()
    condition = Q(ref_upper=folded) | Q(email_upper=folded)
    phone = _PHONE_CHARS.sub("", term)
    if re.fullmatch(r"\+?\d{7,15}", phone):
        condition |= Q(phone=phone if phone.startswith("+") else f"+{phone}")
    return Customer.objects.alias(ref_upper=Upper("external_ref"), email_upper=Upper("email")).filter(condition)


def flight_from(term: str) -> tuple[str, str] | None:
    """("UA", "1545") from "UA1545", "ua 1545" or "UA-1545"; None when it is not a flight."""
    match = _FLIGHT.match(term.strip().upper())
    return (match.group(1), str(int(match.group(2)))) if match else None
