"""Every write that matters to a customer: the API's upsert by external reference, and the workbench's edits.

Each write is audited with the old and new value of the fields it changed. These are personal data: they go
into the audit table, read by coordinators in the database, and never into a log line.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from care.core.actors import Actor, acting
from care.core.audit import audit_record, audit_record_many, changes_between, snapshot
from care.core.errors import DomainError
from care.customers.models import Customer
from care.customers.phones import e164

# What an operations system may set on a customer; suppression and consent history stay the back office's.
UPSERT_FIELDS = frozenset({"name", "preferred_name", "email", "phone", "language", "time_zone", "loyalty_tier"})
# What a coordinator edits in the workbench: the same, the reference of a new customer, and the consent.
CUSTOMER_ADMIN_FIELDS = UPSERT_FIELDS | {"external_ref", "contact_consent", "preferred_channel"}


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


def _sms_opt(*, phone: str, opted_out_at: dt.datetime | None, at: dt.datetime, actor: Actor, action: str) -> int:
    """Set ``sms_opted_out_at`` on every customer with this number whose value differs; audited per customer."""
    number = e164(phone)
    if number is None:
        raise DomainError("This is not a valid phone number in international format, e.g. +12125550123.")
    with transaction.atomic():
        # Only the customers whose state changes: a provider posting the same STOP twice writes nothing twice.
        changing = list(
            Customer.objects.select_for_update()
            .filter(phone=number, sms_opted_out_at__isnull=opted_out_at is not None)
            .order_by("pk")
        )
        if not changing:
            return 0
        Customer.objects.filter(pk__in=[c.pk for c in changing]).update(
            sms_opted_out_at=opted_out_at, updated_at=timezone.now()
        )
        audit_record_many(
            actor=actor,
            action=action,
            entries=[(c, {"sms_opted_out_at": [c.sms_opted_out_at, opted_out_at]}, {}) for c in changing],
            at=at,
        )
    return len(changing)


def customer_sms_opt_out(*, phone: str, at: dt.datetime, actor: Actor) -> int:
    """The customers with this phone number asked for no more SMS (STOP): none is sent to them from ``at``.

    Every customer with the number is opted out (a family may share one phone: the phone's owner said STOP).
    Returns how many customers changed; one already opted out keeps the moment they first said it.
    """
    return _sms_opt(phone=phone, opted_out_at=at, at=at, actor=actor, action="customer.sms_opt_out")


def customer_sms_opt_in(*, phone: str, at: dt.datetime, actor: Actor) -> int:
    """The customers with this phone number accept SMS again (START). Returns how many changed."""
    return _sms_opt(phone=phone, opted_out_at=None, at=at, actor=actor, action="customer.sms_opt_in")
