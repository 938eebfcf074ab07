"""One customer written by its external reference: the API's upsert, with the bulk ingest's rules."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from care.core.errors import DomainError
from care.customers.models import Customer

# What an operations system may set on a customer; suppression and consent history stay the back office's.
UPSERT_FIELDS = frozenset({"name", "preferred_name", "email", "phone", "language", "time_zone", "loyalty_tier"})


def customer_upsert(*, external_ref: str, **fields: Any) -> tuple[Customer, bool]:
    """Create the customer with this reference, or change the given fields of the one that exists.

    Returns the customer and whether it was created. Fields not given keep what is stored (as in a file
    import, where a blank cell keeps the stored value).
    """
    unknown = sorted(set(fields) - UPSERT_FIELDS)
    if unknown:
        raise DomainError(f"These customer fields cannot be set here: {', '.join(unknown)}.")
    for _attempt in range(2):
        try:
            with transaction.atomic():
                customer = Customer.objects.select_for_update().filter(external_ref=external_ref).first()
                created = customer is None
                if customer is None:
                    if not fields.get("name"):
                        raise DomainError("A new customer needs a name.")
                    customer = Customer(external_ref=external_ref)
                for name, value in fields.items():
                    setattr(customer, name, value)
                customer.full_clean(exclude=["external_ref"] if not created else None)
                customer.save()
                return customer, created
        except IntegrityError:
            continue  # created by someone else between our look-up and insert: update it instead
    raise DomainError("The customer was being changed by someone else; please try again.")
