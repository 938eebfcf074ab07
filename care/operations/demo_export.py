"""The demo blizzard's affected customers as files in the ingest format, one per incident (station and day).

So the demo can be loaded the way an operations system would: open an incident through the API and send
these rows (``manage.py export_demo_affected``, then ``POST /api/v1/incidents/{id}/affected/``).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from typing import IO

from care.operations.demo import DEFAULT_SEED, demo_scenario_plan
from incidents.bookings import COLUMNS as BOOKING_COLUMNS
from incidents.ingest.format import COLUMNS
from incidents.models import AffectedCustomer


def _row(passenger: AffectedCustomer) -> dict[str, str]:
    customer = passenger.customer
    departure = passenger.scheduled_departure_at
    return {
        "customer_ref": customer.external_ref,
        "name": customer.name,
        "preferred_name": customer.preferred_name,
        "email": customer.email,
        "phone": customer.phone,
        "language": customer.language,
        "time_zone": customer.time_zone,
        "loyalty_tier": customer.loyalty_tier,
        "carrier": passenger.carrier,
        "flight_number": passenger.flight_number,
        "flight_date": passenger.flight_date.isoformat(),
        "origin": passenger.origin,
        "destination": passenger.destination,
        "scheduled_departure": departure.isoformat() if departure else "",
        "booking_reference": passenger.booking_reference,
        "delay_minutes": str(passenger.delay_minutes),
        "cancelled": "true" if passenger.cancelled else "false",
        "missed_connection": "true" if passenger.missed_connection else "false",
        "overnight_stay": "true" if passenger.overnight_stay else "false",
        "diverted": "true" if passenger.diverted else "false",
        "downgraded": "true" if passenger.downgraded else "false",
    }


def demo_affected_rows(
    *, station: str, day: dt.date, passengers_per_flight: int = 6, seed: int = DEFAULT_SEED
) -> Iterator[dict[str, str]]:
    """The passenger rows of the demo incident of ``station`` on ``day``, as ``manage.py load_demo`` has them."""
    plan = demo_scenario_plan(passengers_per_flight=passengers_per_flight, seed=seed)
    for (origin, date), passenger in plan.passengers:
        if origin == station and date == day:
            yield _row(passenger)


def demo_booking_rows(
    *, days: Iterable[dt.date], passengers_per_flight: int = 6, seed: int = DEFAULT_SEED
) -> list[dict[str, str]]:
    """The demo's passengers of ``days`` as the reservation system books them (incidents.bookings's columns):
    who is on which flight, before anything goes wrong (``manage.py replay_day`` records them first)."""
    wanted = set(days)
    plan = demo_scenario_plan(passengers_per_flight=passengers_per_flight, seed=seed)
    return [
        {column: value for column, value in _row(passenger).items() if column in BOOKING_COLUMNS}
        for (_origin, date), passenger in plan.passengers
        if date in wanted
    ]


def write_csv(rows: Iterator[dict[str, str]], out: IO[str]) -> int:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count
