"""Flights and their passengers: the link from an affected row to its flight, and what a flight's state means.

Every path that writes affected rows (the ingest's COPY and ORM sinks, ``affected_customer_save``, the demo
loader) ends by calling :func:`flights_for_affected`, which creates the flights its rows name (``ON CONFLICT DO
NOTHING``, so two imports at once cannot create one twice) and points the rows at them, set-based; a new row on a
flight the status feed has spoken about takes the flight's delay, cancellation and diversion. The status feed
(incidents.flight_feed) then moves every passenger of a flight at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from incidents.flight_models import Flight, FlightStatus
from incidents.models import MAX_DELAY_MINUTES, AffectedCustomer

# Delays that change what a passenger is owed and told (EU261's two and three hours, the 60-minute meal voucher
# of the demo policy): crossing one upwards makes the passenger's impact worse.
DELAY_THRESHOLDS = (60, 120, 180)


class FlightKey(NamedTuple):
    carrier: str
    number: str
    date: dt.date
    origin: str


def delay_band(minutes: int) -> int:
    """How many of the DELAY_THRESHOLDS ``minutes`` reaches (0 to 3)."""
    return sum(1 for threshold in DELAY_THRESHOLDS if minutes >= threshold)


def impact_worsened(*, old: tuple[int, bool, bool], new: tuple[int, bool, bool]) -> bool:
    """Whether (delay_minutes, cancelled, diverted) got worse: a threshold crossed, a cancellation, a diversion."""
    (old_delay, old_cancelled, old_diverted), (new_delay, new_cancelled, new_diverted) = old, new
    return (
        delay_band(new_delay) > delay_band(old_delay)
        or (new_cancelled and not old_cancelled)
        or (new_diverted and not old_diverted)
    )


def derived_delay(flight: Flight, *, given: int | None = None) -> int:
    """The departure delay in minutes: the actual departure, else the estimate, against the schedule.

    Without a schedule or a time to compare (an operations system that sends only a delay), the delay the event
    gave, else the flight's current one. Never negative (an early departure is no delay), never past a week.
    """
    moment = flight.actual_departure_at or flight.estimated_departure_at
    if flight.scheduled_departure_at is not None and moment is not None:
        minutes = int((moment - flight.scheduled_departure_at).total_seconds() // 60)
    elif given is not None:
        minutes = given
    else:
        minutes = flight.delay_minutes
    return max(0, min(MAX_DELAY_MINUTES, minutes))


def passenger_impact(flight: Flight) -> tuple[int, bool, bool]:
    """(delay_minutes, cancelled, diverted) as the flight gives them to each of its passengers."""
    return (
        flight.delay_minutes,
        flight.status == FlightStatus.CANCELLED,
        flight.status == FlightStatus.DIVERTED or bool(flight.diverted_to),
    )


# A passenger's cancelled and diverted as their flight (aliased f) gives them, in SQL: passenger_impact's rules.
FLIGHT_CANCELLED_SQL = "(f.status = 'cancelled')"
FLIGHT_DIVERTED_SQL = "(f.status = 'diverted' OR f.diverted_to <> '')"


class FlightsLinked(NamedTuple):
    linked: int  # rows given their flight
    took_flight_status: int  # of them, rows whose delay, cancelled or diverted a fed flight replaced


# The rows about to be linked to a flight that has status events take its impact, whatever their file said: the
# feed is the source of truth for a flight it has spoken about (a flight only imported keeps the file's words).
# Before the link, so that "no flight yet" is what marks the new rows; only where the row differs, so the count
# is of rows the flight corrected.
_TAKE_FED_STATUS = f"""
    UPDATE incidents_affectedcustomer AS a SET
        delay_minutes = f.delay_minutes,
        cancelled = {FLIGHT_CANCELLED_SQL},
        diverted = {FLIGHT_DIVERTED_SQL}
    FROM incidents_flight f
    WHERE a.flight_id IS NULL AND a.incident_id IN ({{placeholders}})
        AND f.carrier = a.carrier AND f.number = a.flight_number AND f.date = a.flight_date AND f.origin = a.origin
        AND f.last_event_at IS NOT NULL
        AND (a.delay_minutes <> f.delay_minutes OR a.cancelled <> {FLIGHT_CANCELLED_SQL}
             OR a.diverted <> {FLIGHT_DIVERTED_SQL})
"""  # noqa: S608 - no user input: placeholders only

# One flight per (carrier, number, date, origin) of the rows without one; its state from its rows as the
# file gave them (any cancelled: cancelled; any diverted: diverted; a delay: delayed), its delay the longest.
_INSERT_FLIGHTS = """
    INSERT INTO incidents_flight (carrier, number, date, origin, destination, scheduled_departure_at, status,
        diverted_to, delay_minutes, last_event_source, last_event_id, updated_at)
    SELECT a.carrier, a.flight_number, a.flight_date, a.origin, max(a.destination), min(a.scheduled_departure_at),
        CASE WHEN max(CASE WHEN a.cancelled THEN 1 ELSE 0 END) = 1 THEN 'cancelled'
             WHEN max(CASE WHEN a.diverted THEN 1 ELSE 0 END) = 1 THEN 'diverted'
             WHEN max(a.delay_minutes) > 0 THEN 'delayed'
             ELSE 'scheduled' END,
        '', max(a.delay_minutes), '', '', %s
    FROM incidents_affectedcustomer a
    WHERE a.flight_id IS NULL AND a.incident_id IN ({placeholders})
    GROUP BY a.carrier, a.flight_number, a.flight_date, a.origin
    ORDER BY a.carrier, a.flight_number, a.flight_date, a.origin
    ON CONFLICT (carrier, number, date, origin) DO NOTHING
"""


def flights_for_affected(*, incident_ids: Iterable[int]) -> FlightsLinked:
    """Give every affected row of these incidents that has no flight its flight, creating the flights missing.

    Three statements whatever the number of rows, on PostgreSQL and SQLite alike; flights are inserted in key order
    so two imports at once take their locks in one order. A flight that exists already keeps its state: the status
    feed, not a file, is its source of truth; and once the feed has spoken about it (``last_event_at``), the new
    rows take its delay, cancelled and diverted (their own missed connection, overnight stay and downgrade stay).
    Returns how many rows were linked, and how many of them the flight's status corrected.
    """
    ids = sorted(set(incident_ids))
    if not ids:
        return FlightsLinked(0, 0)
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_FED_STATUS.format(placeholders=placeholders), ids)
        took_flight_status = cursor.rowcount
        cursor.execute(_INSERT_FLIGHTS.format(placeholders=placeholders), [timezone.now(), *ids])
    linked = (
        AffectedCustomer.objects.filter(flight__isnull=True, incident_id__in=ids)
        .order_by()
        .update(
            flight_id=Subquery(
                Flight.objects.filter(
                    carrier=OuterRef("carrier"),
                    number=OuterRef("flight_number"),
                    date=OuterRef("flight_date"),
                    origin=OuterRef("origin"),
                ).values("pk")[:1]
            )
        )
    )
    return FlightsLinked(linked, took_flight_status)


# Flight keys per lookup statement: four parameters each, under SQLite's 32,766 and PostgreSQL's 65,535.
KEYS_PER_LOOKUP = 2_000


def flights_locked(keys: Sequence[FlightKey]) -> dict[FlightKey, Flight]:
    """The flights of ``keys`` that exist, locked (FOR UPDATE) in key order, as the status feed locks them.

    Whoever writes about a flight's passengers (the feed, the bookings, detection) takes its flights' locks in this
    one order, so two writers at once wait for each other instead of deadlocking. Call it inside a transaction.
    """
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    table = Flight._meta.db_table
    ordered = sorted(set(keys))
    found: dict[FlightKey, Flight] = {}
    for start in range(0, len(ordered), KEYS_PER_LOOKUP):
        chunk = ordered[start : start + KEYS_PER_LOOKUP]
        values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
        params: list[Any] = []
        for key in chunk:
            params += [key.carrier, key.number, connection.ops.adapt_datefield_value(key.date), key.origin]
        sql = (
            f"SELECT * FROM {table} WHERE (carrier, number, date, origin) IN (VALUES {values}) "  # noqa: S608
            f"ORDER BY carrier, number, date, origin{lock}"
        )
        for flight in Flight.objects.raw(sql, params):
            found[FlightKey(flight.carrier, flight.number, flight.date, flight.origin)] = flight
    return found
