"""Bookings (the manifest): who is booked on which flight, recorded before anything goes wrong.

``bookings_record`` takes rows from the reservation system (the API ``POST /api/v1/flight-bookings/`` and
``manage.py record_bookings``): a customer, with the same fields and validation as the import of affected
customers (incidents.ingest.validate, FORMAT.md), and the flight they are booked on. Per-row errors like the
ingest (a bad row is rejected with every reason, the good ones are recorded), idempotent (a booking already
recorded changes nothing), set-based (a handful of statements for thousands of rows), one audit entry per call.

A booking on a flight that is already part of a draft or active incident becomes an affected row of that
incident at once, with the flight's current impact: a new passenger on a known flight takes the flight's status.
``incident_flights_add`` is the other way round (care.operations.detection): disrupted flights join an incident
with all their bookings.

Locks: the flights are locked in key order (incidents.flights.flights_locked) before anything is written, as the
status feed and detection lock them; an incident row is locked after its flights, and with FOR NO KEY UPDATE, so
a booking's affected row (which takes a key-share lock on its incident) never waits in a cycle.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from care.core.actors import Actor
from care.core.audit import audit_record
from care.core.errors import DomainError
from incidents.booking_models import Booking, IncidentFlight
from incidents.flight_models import Flight
from incidents.flights import FlightKey, flights_locked
from incidents.ingest import format as format_columns
from incidents.ingest.format import BadRow, json_fields
from incidents.ingest.impact import IMPACT_FIELDS
from incidents.ingest.orm import customers_merge
from incidents.ingest.validate import CleanRow, validate
from incidents.models import ACTIVE_STATUSES, Incident, IncidentStatus
from incidents.services import incidents_refresh_counts

BATCH_MAX = 10_000
# The import's columns without the impact: who is booked on which flight, before anything went wrong.
REQUIRED_COLUMNS = format_columns.REQUIRED_COLUMNS
OPTIONAL_COLUMNS = tuple(name for name in format_columns.OPTIONAL_COLUMNS if name not in IMPACT_FIELDS)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# The flight feed's spelling of the scheduled departure, accepted as well.
ALIASES = {"scheduled_departure_at": "scheduled_departure"}
# The incidents a new passenger of one of their flights joins: not yet opened, or still telling customers.
LIVE_STATUSES = (IncidentStatus.DRAFT, *ACTIVE_STATUSES)
IDS_PER_STATEMENT = 5_000

CREATED, EXISTING, REJECTED = "created", "existing", "rejected"
OUTCOMES = (CREATED, EXISTING, REJECTED)


@dataclass(frozen=True)
class BookingRowResult:
    index: int
    outcome: str
    reason: str = ""


@dataclass(frozen=True)
class BookingsResult:
    """Each row's outcome in the given order, and the call's counts (also in its audit entry)."""

    results: list[BookingRowResult]
    counts: dict[str, int]


def _fields(value: Any) -> dict[str, str] | str:
    """A row as the ingest's text fields, or why it cannot be one."""
    if not isinstance(value, Mapping):
        return "a booking must be an object of field: value"
    data: dict[str, Any] = {}
    for key, item in value.items():
        name = ALIASES.get(str(key), str(key))
        if name in data:
            return f"{name} is given twice"
        data[name] = item
    unknown = sorted(name for name in data if name not in COLUMNS)
    if unknown:
        return f"unknown fields: {', '.join(name[:40] for name in unknown[:10])}"
    fields = json_fields(data)
    return fields.reason if isinstance(fields, BadRow) else fields


def _key(row: CleanRow) -> FlightKey:
    return FlightKey(row.carrier, row.flight_number, row.flight_date, row.origin)


def _triage(rows: Sequence[Any]) -> tuple[dict[int, BookingRowResult], list[tuple[int, CleanRow]]]:
    """Validate every row; the bad ones rejected, a second row for the same customer and flight reported as
    existing (it is the same booking), the rest to record."""
    results: dict[int, BookingRowResult] = {}
    fresh: list[tuple[int, CleanRow]] = []
    first: dict[tuple[str, FlightKey], int] = {}
    for index, value in enumerate(rows):
        fields = _fields(value)
        if isinstance(fields, str):
            results[index] = BookingRowResult(index, REJECTED, fields)
            continue
        clean, reasons = validate(fields)
        if clean is None:
            results[index] = BookingRowResult(index, REJECTED, "; ".join(reasons))
            continue
        seen = first.setdefault((clean.customer_ref, _key(clean)), index)
        if seen != index:
            results[index] = BookingRowResult(index, EXISTING, f"the same booking as row {seen}")
        else:
            fresh.append((index, clean))
    return results, fresh


def _flights_for(rows: list[CleanRow]) -> tuple[dict[FlightKey, Flight], int]:
    """The rows' flights, the missing ones created from the first row naming each, locked in key order; and how
    many were created. A flight that exists keeps its state (the feed is its source of truth); only a destination
    it lacks (a flight the feed created before its bookings came) is taken from the bookings."""
    details: dict[FlightKey, CleanRow] = {}
    for row in rows:
        details.setdefault(_key(row), row)
    keys = sorted(details)
    flights = flights_locked(keys)  # the flights that exist already, locked in key order
    missing = [key for key in keys if key not in flights]
    Flight.objects.bulk_create(
        [
            Flight(
                carrier=key.carrier,
                number=key.number,
                date=key.date,
                origin=key.origin,
                destination=details[key].destination,
                scheduled_departure_at=details[key].scheduled_departure_at,
            )
            for key in missing
        ],
        ignore_conflicts=True,  # INSERT … ON CONFLICT DO NOTHING: a flight another writer created is kept
        batch_size=2_000,
    )
    if missing:
        flights = flights_locked(keys)  # with the ones just created (or created by another writer meanwhile)
    blank = [flight for key, flight in flights.items() if not flight.destination]
    for flight in blank:
        flight.destination = details[FlightKey(flight.carrier, flight.number, flight.date, flight.origin)].destination
    Flight.objects.bulk_update(blank, fields=["destination"], batch_size=500)
    return flights, len(missing)


# The bookings of (incident, flight) pairs as affected rows of those incidents, each with its flight's impact and
# copy of the flight; a customer already recorded on the flight for the incident keeps their row. ``{pairs}`` is a
# query of (incident_id, flight_id); ``{bookings}`` restricts the bookings. The same SQL on PostgreSQL and SQLite.
_AFFECTED_FROM_BOOKINGS = """
    INSERT INTO incidents_affectedcustomer (incident_id, customer_id, flight_id, delay_minutes, cancelled,
        missed_connection, overnight_stay, diverted, downgraded, carrier, flight_number, flight_date, origin,
        destination, scheduled_departure_at, booking_reference, created_at)
    SELECT p.incident_id, b.customer_id, f.id, f.delay_minutes, f.status = 'cancelled', false, false,
        (f.status = 'diverted' OR f.diverted_to <> ''), false, f.carrier, f.number, f.date, f.origin,
        f.destination, f.scheduled_departure_at, b.booking_reference, %s
    FROM incidents_booking b
    JOIN incidents_flight f ON f.id = b.flight_id
    JOIN ({pairs}) p ON p.flight_id = f.id
    WHERE {bookings}
    ORDER BY p.incident_id, b.customer_id, f.date
    ON CONFLICT (incident_id, customer_id, carrier, flight_number, flight_date) DO NOTHING
    RETURNING incident_id
"""


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _insert_affected(*, pairs_sql: str, pairs_params: list[Any], flight_ids: list[int], now: dt.datetime,
                     customer_ids: list[int] | None = None) -> Counter[int]:  # fmt: skip
    """Insert the affected rows; how many per incident."""
    created: Counter[int] = Counter()
    if customer_ids is None:
        chunks: list[list[int] | None] = [None]
    else:
        customers = sorted(set(customer_ids))
        chunks = [customers[start : start + IDS_PER_STATEMENT] for start in range(0, len(customers), IDS_PER_STATEMENT)]
    with connection.cursor() as cursor:
        for chunk in chunks:
            bookings = f"b.flight_id IN ({_placeholders(flight_ids)})"
            params = [now, *pairs_params, *flight_ids]
            if chunk is not None:
                bookings += f" AND b.customer_id IN ({_placeholders(chunk)})"
                params += chunk
            cursor.execute(_AFFECTED_FROM_BOOKINGS.format(pairs=pairs_sql, bookings=bookings), params)
            created.update(incident_id for (incident_id,) in cursor.fetchall())
    return created


def _live_pairs_sql(flight_ids: list[int]) -> tuple[str, list[Any]]:
    """(incident, flight) for every draft or active incident these flights are part of: linked to it
    (IncidentFlight), or with passengers on them (an import's rows)."""
    statuses = [str(status) for status in LIVE_STATUSES]
    live, flights = _placeholders(statuses), _placeholders(flight_ids)
    sql = (
        "SELECT l.incident_id, l.flight_id FROM incidents_incidentflight l "  # noqa: S608
        f"JOIN incidents_incident i ON i.id = l.incident_id WHERE i.status IN ({live}) AND l.flight_id IN ({flights}) "
        "UNION SELECT a.incident_id, a.flight_id FROM incidents_affectedcustomer a "
        f"JOIN incidents_incident i ON i.id = a.incident_id WHERE i.status IN ({live}) AND a.flight_id IN ({flights})"
    )
    return sql, [*statuses, *flight_ids, *statuses, *flight_ids]


def bookings_record(*, rows: Sequence[Mapping[str, Any]], source: str, actor: Actor) -> BookingsResult:
    """Record a batch of bookings from ``source`` (one transaction); each row's outcome, in the given order.

    Customers are created or updated as an import does (incidents.ingest.orm.customers_merge), flights that are
    missing are created, and a booking on a flight of a draft or active incident becomes an affected row of it.
    """
    if not source.strip():
        raise DomainError("Say which system sent the bookings.")
    if len(rows) > BATCH_MAX:
        raise DomainError(f"At most {BATCH_MAX} bookings per batch; send the rest in another.")
    now = timezone.now()
    results, fresh = _triage(rows)
    counts = dict.fromkeys((*OUTCOMES, "customers_created", "customers_updated", "flights_created"), 0)
    counts["affected_created"] = 0
    with transaction.atomic():
        if fresh:
            clean = [row for _, row in fresh]
            # Flights first: their locks order this call against the feed and detection (module docstring).
            flights, counts["flights_created"] = _flights_for(clean)
            merged = customers_merge(clean)
            counts["customers_created"], counts["customers_updated"] = merged.created, merged.updated
            pairs = {(flights[_key(row)].pk, merged.ids[row.customer_ref]): (index, row) for index, row in fresh}
            flight_ids = sorted({flight_id for flight_id, _ in pairs})
            customer_ids = sorted({customer_id for _, customer_id in pairs})
            existing: set[tuple[int, int]] = set()
            for start in range(0, len(customer_ids), IDS_PER_STATEMENT):
                existing |= set(
                    Booking.objects.filter(
                        flight_id__in=flight_ids, customer_id__in=customer_ids[start : start + IDS_PER_STATEMENT]
                    ).values_list("flight_id", "customer_id")
                )
            new = [
                Booking(flight_id=flight_id, customer_id=customer_id, booking_reference=row.booking_reference,
                        created_at=now)
                for (flight_id, customer_id), (_, row) in sorted(pairs.items())
                if (flight_id, customer_id) not in existing
            ]  # fmt: skip
            Booking.objects.bulk_create(new, ignore_conflicts=True, batch_size=2_000)
            for pair, (index, _) in pairs.items():
                outcome = EXISTING if pair in existing else CREATED
                results[index] = BookingRowResult(index, outcome, "already recorded" if outcome == EXISTING else "")
            # Every booking of the call, new or not (level-triggered): one left out by a crash joins now.
            pairs_sql, pairs_params = _live_pairs_sql(flight_ids)
            joined = _insert_affected(pairs_sql=pairs_sql, pairs_params=pairs_params, flight_ids=flight_ids,
                                      customer_ids=customer_ids, now=now)  # fmt: skip
            counts["affected_created"] = sum(joined.values())
            if joined:
                incidents_refresh_counts(incident_ids=sorted(joined))
        outcome_counts = Counter(result.outcome for result in results.values())
        counts.update({outcome: outcome_counts.get(outcome, 0) for outcome in OUTCOMES})
        audit_record(
            actor=actor,
            action="bookings.record",
            target=None,
            details={"source": source, "rows": len(rows), **counts},
            at=now,
        )
    return BookingsResult(results=[results[index] for index in range(len(rows))], counts=counts)


def _labels_merged(text: str, flights: Iterable[Flight]) -> str:
    """The incident's flights text with these flights' labels added after the ones it lists (none twice)."""
    labels = [label.strip() for label in text.split(",") if label.strip()]
    for flight in sorted(flights, key=lambda f: (f.carrier, f.number)):
        if flight.label not in labels:
            labels.append(flight.label)
    return ", ".join(labels)


def incident_flights_add(
    *, incident_id: int, flight_ids: Iterable[int], actor: Actor, now: dt.datetime | None = None
) -> int:
    """Make flights part of a draft or active incident, with all their bookings as affected rows; how many rows
    it added.

    Each passenger takes the flight's current impact and a customer already recorded on the flight keeps their
    row (``ON CONFLICT DO NOTHING`` on the affected row's unique constraint), so a second call adds nothing. A
    flight with no bookings yet is part of the incident all the same (``IncidentFlight``): its bookings join when
    they are recorded. The incident's flights text lists the flights and its counters are recomputed; one
    ``incident.flights_add`` audit entry when anything changed.
    """
    moment = now or timezone.now()
    with transaction.atomic():
        flights = list(
            Flight.objects.filter(pk__in=list(flight_ids))
            .order_by("carrier", "number", "date", "origin")
            # In key order, before the incident: the order bookings_record and the feed take them in.
            .select_for_update()
        )
        no_key = bool(connection.features.has_select_for_no_key_update)
        incident = Incident.objects.select_for_update(no_key=no_key).get(pk=incident_id)
        if incident.status not in LIVE_STATUSES:
            raise DomainError(
                f"{incident.reference} is {incident.get_status_display().lower()}: flights join a draft or active "
                "incident only."
            )
        if not flights:
            return 0
        ids = [flight.pk for flight in flights]
        linked = set(
            IncidentFlight.objects.filter(incident_id=incident.pk, flight_id__in=ids).values_list(
                "flight_id", flat=True
            )
        )
        new_links = [flight for flight in flights if flight.pk not in linked]
        IncidentFlight.objects.bulk_create(
            [IncidentFlight(incident_id=incident.pk, flight_id=flight.pk, added_at=moment) for flight in new_links],
            ignore_conflicts=True,
        )
        pairs_sql = (
            f"SELECT %s AS incident_id, f.id AS flight_id FROM incidents_flight f WHERE f.id IN ({_placeholders(ids)})"  # noqa: S608
        )
        joined = _insert_affected(pairs_sql=pairs_sql, pairs_params=[incident.pk, *ids], flight_ids=ids, now=moment)
        added = joined[incident.pk]
        text = _labels_merged(incident.flights, flights)
        if not added and not new_links and text == incident.flights:
            return 0
        changes = {"flights": [incident.flights, text]} if text != incident.flights else {}
        Incident.objects.filter(pk=incident.pk).update(flights=text)
        incidents_refresh_counts(incident_ids=[incident.pk])
        audit_record(
            actor=actor,
            action="incident.flights_add",
            target=incident,
            changes=changes,
            details={
                "flights_added": [flight.label for flight in new_links][:200],
                "flight_ids": [flight.pk for flight in new_links][:200],
                "passengers_added": added,
            },
            at=moment,
        )
    return added
