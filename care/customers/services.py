"""Every write that matters to a customer: the API's upsert by external reference, and the workbench's edits.

Each write is audited with the old and new value of the fields it changed. These are personal data: they go
into the audit table, read by coordinators in the database, and never into a log line.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from care.core.actors import Actor, acting
from care.core.audit import audit_record, changes_between, snapshot
from care.core.errors import DomainError
from care.customers.models import Customer

# What an operations system may set on a customer; suppression and consent history stay the back office's.
UPSERT_FIELDS = frozenset({"name", "preferred_name", "email", "phone", "language", "time_zone", "loyalty_tier"})
# What a coordinator edits in the workbench: the same, the reference of a new customer, and the consent.
CUSTOMER_ADMIN_FIELDS = UPSERT_FIELDS | {"external_ref", "contact_consent"}


def _write(customer: Customer, fields: dict[str, Any], *, created: bool, actor: Actor) -> None:
    """Set ``fields``, validate, save and audit (only what changed); inside the caller's transaction."""
    names = sorted(fields)
    before = {} if created else snapshot(customer, names)
    for name, value in fields.items():
        setattr(customer, name, value)
    customer.full_clean(exclude=["external_ref"] if not created else None)
    changes = (
        changes_between(None, customer, ["external_ref", *names])
        if created
        else changes_between(before, customer, names)
    )
    if not changes:
        return
    customer.save()
    audit_record(
        actor=actor, action="customer.create" if created else "customer.update", target=customer, changes=changes
    )


def customer_upsert(
    *, external_ref: str, actor: Actor | None = None, actor_label: str = "", **fields: Any
) -> tuple[Customer, bool]:
    """Create the customer with this reference, or change the given fields of the one that exists.

    Returns the customer and whether it was created. Fields not given keep what is stored (as in a file
    import, where a blank cell keeps the stored value).
    """
    unknown = sorted(set(fields) - UPSERT_FIELDS)
    if unknown:
        raise DomainError(f"These customer fields cannot be set here: {', '.join(unknown)}.")
    who = acting(actor, actor_label)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                customer = Customer.objects.select_for_update().filter(external_ref=external_ref).first()
                created = customer is None
                if customer is None:
                    if not fields.get("name"):
                        raise DomainError("A new customer needs a name.")
                    customer = Customer(external_ref=external_ref)
                _write(customer, fields, created=created, actor=who)
                return customer, created
        except IntegrityError:
            continue  # created by someone else between our look-up and insert: update it instead
    raise DomainError("The customer was being changed by someone else; please try again.")


def customer_save(*, customer_id: int | None, actor: Actor, **fields: Any) -> Customer:
    """A coordinator's edit of a customer (``customer_id`` None: a new one) in the workbench."""
    unknown = sorted(set(fields) - CUSTOMER_ADMIN_FIELDS)
    if unknown:
        raise DomainError(f"These customer fields cannot be changed here: {', '.join(unknown)}.")
    with transaction.atomic():
        if customer_id is None:
            customer = Customer(external_ref=fields.pop("external_ref", ""))
            _write(customer, fields, created=True, actor=actor)
        else:
            customer = Customer.objects.select_for_update().get(pk=customer_id)
            _write(customer, fields, created=False, actor=actor)
    return customer
