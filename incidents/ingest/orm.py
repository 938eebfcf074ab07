"""The portable path (SQLite, the development default): batches through the ORM, the same rules as pg.py.

Each chunk is merged in its own transaction: customers looked up by reference, new ones bulk-created, changed
ones bulk-updated, the impact of rows already recorded bulk-updated where the file changes it (the rules and the
audit entry of incidents.ingest.impact), affected customers bulk-created with ``ignore_conflicts`` (the unique
key still decides).
Repeated customer references are found with a dictionary of the references seen so far, so this path holds
one string per row of the file; the PostgreSQL path finds them in the staging table instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from care.core.actors import Actor
from care.customers.models import Customer
from incidents.flights import flights_for_affected
from incidents.ingest.impact import (
    IMPACT_FIELDS,
    Impact,
    ImpactChange,
    impact_changes_audit,
    impact_from_file,
    worse,
)
from incidents.ingest.validate import CleanRow
from incidents.models import AffectedCustomer, ImportRejection
from incidents.services import incidents_refresh_counts

_CONTACT_FIELDS = ("preferred_name", "email", "phone", "language", "time_zone", "loyalty_tier")


@dataclass(frozen=True)
class CustomersMerged:
    ids: dict[str, int]  # every customer_ref of the rows -> the customer's id
    created: int
    updated: int


def customers_merge(rows: Sequence[CleanRow], *, known: Container[str] = ()) -> CustomersMerged:
    """Upsert the customers these rows name, set-based: new ones created, changed ones updated, in a few statements.

    A customer's details come from their first row (a customer on two flights has two rows); a blank optional
    field keeps what is stored, the name is always the row's. ``known``: references whose details were taken
    from an earlier row already (an import's earlier chunk), only looked up. The ingest's ORM path and the
    bookings (incidents.bookings) share it; the caller holds the transaction.
    """
    refs = [row.customer_ref for row in rows]
    existing = {customer.external_ref: customer for customer in Customer.objects.filter(external_ref__in=refs)}
    now = timezone.now()
    changed: list[Customer] = []
    new: list[Customer] = []
    people: dict[str, CleanRow] = {}
    for row in rows:
        if row.customer_ref not in known:
            people.setdefault(row.customer_ref, row)
    for row in people.values():
        customer = existing.get(row.customer_ref)
        if customer is None:
            new.append(
                Customer(
                    external_ref=row.customer_ref,
                    name=row.name,
                    **{field: getattr(row, field) for field in _CONTACT_FIELDS if getattr(row, field) is not None},
                )
            )
            continue
        before = (customer.name, *(getattr(customer, field) for field in _CONTACT_FIELDS))
        customer.name = row.name
        for field in _CONTACT_FIELDS:
            value = getattr(row, field)
            if value is not None:
                setattr(customer, field, value)
        if (customer.name, *(getattr(customer, field) for field in _CONTACT_FIELDS)) != before:
            customer.updated_at = now
            changed.append(customer)
    # One lock order for every import (by reference, then by id), so two at once cannot deadlock.
    new.sort(key=lambda customer: customer.external_ref)
    changed.sort(key=lambda customer: customer.pk)
    Customer.objects.bulk_create(new, ignore_conflicts=True)
    if changed:
        Customer.objects.bulk_update(changed, fields=["name", *_CONTACT_FIELDS, "updated_at"])
    ids = dict(Customer.objects.filter(external_ref__in=refs).values_list("external_ref", "pk"))
    return CustomersMerged(ids=ids, created=len(new), updated=len(changed))


class OrmSink:
    def __init__(self, *, job_id: int, incident_id: int, actor: Actor) -> None:
        self.job_id = job_id
        self.incident_id = incident_id
        self.actor = actor
        # By customer and flight: a customer's other flight is another leg, kept; the same flight again is a repeat.
        self.first_row: dict[tuple[str, str, str, object], int] = {}
        self.people_seen: set[str] = set()
        self.counts = {
            "duplicates": 0,
            "customers_created": 0,
            "customers_updated": 0,
            "affected_created": 0,
            "affected_updated": 0,
            "affected_existing": 0,
            "affected_flight_kept": 0,
        }

    def add(self, rows: Sequence[tuple[int, CleanRow]]) -> None:
        fresh: list[tuple[int, CleanRow]] = []
        duplicates: list[ImportRejection] = []
        for number, row in rows:
            key = (row.customer_ref, row.carrier, row.flight_number, row.flight_date)
            first = self.first_row.setdefault(key, number)
            if first != number:
                duplicates.append(
                    ImportRejection(
                        job_id=self.job_id,
                        row_number=number,
                        reason=(
                            f"duplicate: customer_ref {row.customer_ref} on flight {row.carrier} {row.flight_number} "
                            f"of {row.flight_date.isoformat()} is already on row {first}"
                        ),
                        raw=_raw(row),
                    )
                )
            else:
                fresh.append((number, row))
        with transaction.atomic():
            ImportRejection.objects.bulk_create(duplicates, ignore_conflicts=True)
            self.counts["duplicates"] += len(duplicates)
            self._merge([row for _, row in fresh])

    def _merge(self, rows: list[CleanRow]) -> None:
        if not rows:
            return
        merged = customers_merge(rows, known=self.people_seen)
        self.people_seen.update(merged.ids)
        self.counts["customers_created"] += merged.created
        self.counts["customers_updated"] += merged.updated
        ids = merged.ids
        already, updated = self._update_recorded(rows, ids, timezone.now())
        affected = [
            AffectedCustomer(
                incident_id=self.incident_id,
                customer_id=ids[row.customer_ref],
                delay_minutes=row.delay_minutes,
                cancelled=row.cancelled,
                missed_connection=row.missed_connection,
                overnight_stay=row.overnight_stay,
                diverted=row.diverted,
                downgraded=row.downgraded,
                carrier=row.carrier,
                flight_number=row.flight_number,
                flight_date=row.flight_date,
                origin=row.origin,
                destination=row.destination,
                scheduled_departure_at=row.scheduled_departure_at,
                booking_reference=row.booking_reference,
            )
            for row in rows
            if (ids[row.customer_ref], row.carrier, row.flight_number, row.flight_date) not in already
        ]
        affected.sort(key=lambda row: (row.customer_id, row.flight_date))
        AffectedCustomer.objects.bulk_create(affected, ignore_conflicts=True)
        linked = flights_for_affected(incident_ids=[self.incident_id])  # in the chunk's transaction, as the rows
        self.counts["affected_created"] += len(affected)
        self.counts["affected_flight_kept"] += linked.took_flight_status
        self.counts["affected_updated"] += updated
        self.counts["affected_existing"] += len(rows) - len(affected) - updated

    def _update_recorded(
        self, rows: list[CleanRow], ids: dict[str, int], now: dt.datetime
    ) -> tuple[set[tuple[int, str, str, dt.date]], int]:
        """Give the chunk's rows already recorded the file's impact where it differs (a fed flight keeps its own
        part); return the keys of the rows recorded already, and how many of them changed."""
        given = {
            (ids[row.customer_ref], row.carrier, row.flight_number, row.flight_date): Impact(
                *(getattr(row, name) for name in IMPACT_FIELDS)
            )
            for row in rows
        }
        recorded = AffectedCustomer.objects.filter(incident_id=self.incident_id, customer_id__in=ids.values())
        # Read first without locks (a rerun changes nothing, and locks nothing); then lock the rows to change in id
        # order, as the feed and the sweeps do, and decide on what they hold once locked.
        keys: dict[int, tuple[int, str, str, dt.date]] = {}
        due: list[int] = []
        for affected in recorded.select_related("flight").order_by("pk"):
            key = (affected.customer_id, affected.carrier, affected.flight_number, affected.flight_date)
            if key not in given:
                continue
            keys[affected.pk] = key
            new, kept = impact_from_file(given[key], affected.flight)
            if kept or new != _impact(affected):
                due.append(affected.pk)
        changed: list[AffectedCustomer] = []
        changes: list[ImpactChange] = []
        locked = AffectedCustomer.objects.filter(pk__in=due).select_related("flight").select_for_update(of=("self",))
        for affected in locked.order_by("pk"):
            old = _impact(affected)
            new, kept = impact_from_file(given[keys[affected.pk]], affected.flight)
            self.counts["affected_flight_kept"] += kept
            if new == old:
                continue
            got_worse = worse(old, new)
            for name, value in zip(IMPACT_FIELDS, new, strict=True):
                setattr(affected, name, value)
            if got_worse:
                affected.impact_changed_at = now
            changed.append(affected)
            changes.append(ImpactChange(affected.pk, old, new, got_worse, kept))
        AffectedCustomer.objects.bulk_update(changed, fields=[*IMPACT_FIELDS, "impact_changed_at"], batch_size=1_000)
        impact_changes_audit(
            changes=changes, actor=self.actor, job_id=self.job_id, incident_id=self.incident_id, at=now
        )
        return set(keys.values()), len(changed)

    def finish(self) -> dict[str, int]:
        incidents_refresh_counts(incident_ids=[self.incident_id])
        return {**self.counts, "customers_in_file": len(self.people_seen)}

    def close(self) -> None:
        self.first_row.clear()
        self.people_seen.clear()


def _impact(affected: AffectedCustomer) -> Impact:
    return Impact(*(getattr(affected, name) for name in IMPACT_FIELDS))


def _raw(row: CleanRow) -> dict[str, str]:
    values = row._asdict()
    values["scheduled_departure"] = values.pop("scheduled_departure_at")
    return {key: _text(value) for key, value in values.items()}


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
