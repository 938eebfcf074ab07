"""The flight status feed on PostgreSQL: events per second through ``flight_events_apply``, beside a plain COPY.

N flights (BENCH_FLIGHT_FLIGHTS) with P passengers each (BENCH_FLIGHT_PASSENGERS) are recorded in one open
incident and given their flights (incidents.flights). Then M events (BENCH_FLIGHT_EVENTS), each flight's delay
growing over the morning and some flights cancelled at the end, go through the feed in batches of 5,000 (one
transaction each: validation, flights locked in key order, passengers moved set-based, audit per flight). Figures:

- ``flight_feed_events_per_second``, with as reference a COPY of the same number of event rows (the rows the
  feed stored) into an empty table with the event table's indexes, measured in the same run;
- ``flight_feed_rerun_events_per_second``: the same events again (every one a duplicate, nothing changes).

The database is BENCH_FLIGHT_DATABASE_URL, else DATABASE_URL if it is PostgreSQL, else care_bench_flights
(created and migrated if missing). What the benchmark created is deleted at the end.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench.common import emit, int_setting, setup_django

_CONFIGURED = os.environ.get("DATABASE_URL", "")
DATABASE_URL = os.environ.get("BENCH_FLIGHT_DATABASE_URL") or (
    _CONFIGURED if _CONFIGURED.startswith("postgres") else "postgres://postgres@127.0.0.1:5432/care_bench_flights"
)
FLIGHTS = int_setting("BENCH_FLIGHT_FLIGHTS")
PASSENGERS = int_setting("BENCH_FLIGHT_PASSENGERS")
EVENTS = int_setting("BENCH_FLIGHT_EVENTS")
BATCH = 5_000
TAG = f"BENCH-FLIGHTS-{os.getpid()}"
CARRIER = "ZZ"  # no real flight in a development database is touched
DAY = dt.date(2013, 2, 8)
EST = dt.timezone(dt.timedelta(hours=-5))


def fill() -> int:
    from care.customers.models import Customer
    from incidents.flights import flights_for_affected
    from incidents.models import AffectedCustomer, Incident

    incident = Incident.objects.create(reference=TAG[:32], title=TAG, kind="delay", cause="weather", status="open")
    customers = Customer.objects.bulk_create(
        [
            Customer(external_ref=f"{TAG}-{n}", name=f"Passenger {n}", email=f"p{n}@example.com")
            for n in range(FLIGHTS * PASSENGERS)
        ],
        batch_size=5_000,
    )
    AffectedCustomer.objects.bulk_create(
        [
            AffectedCustomer(
                incident=incident,
                customer=customer,
                carrier=CARRIER,
                flight_number=str(1 + n // PASSENGERS),
                flight_date=DAY,
                origin="JFK",
                destination="BOS",
                scheduled_departure_at=dt.datetime(2013, 2, 8, 14, 0, tzinfo=EST),
            )
            for n, customer in enumerate(customers)
        ],
        batch_size=5_000,
    )
    flights_for_affected(incident_ids=[incident.pk])
    return incident.pk


def events() -> list[dict[str, Any]]:
    per_flight = max(1, EVENTS // FLIGHTS)
    departure = dt.datetime(2013, 2, 8, 14, 0, tzinfo=EST)
    morning = dt.datetime(2013, 2, 8, 8, 0, tzinfo=EST)
    out: list[dict[str, Any]] = []
    for step in range(per_flight):  # step by step over the day, every flight at each step, as a feed sends them
        for number in range(1, FLIGHTS + 1):
            if len(out) >= EVENTS:
                break
            last = step == per_flight - 1
            cancelled = last and number % 5 == 0
            out.append({
                "event_id": f"{number}-{step}",
                "occurred_at": (morning + dt.timedelta(minutes=10 * step)).isoformat(),
                "carrier": CARRIER, "flight_number": str(number), "flight_date": DAY.isoformat(), "origin": "JFK",
                "status": "cancelled" if cancelled else "delayed",
                "scheduled_departure_at": departure.isoformat(),
                "estimated_departure_at": (departure + dt.timedelta(minutes=25 * (step + 1))).isoformat(),
            })  # fmt: skip
    return out


def apply_all(batch: list[dict[str, Any]]) -> float:
    from care.core.actors import SystemActor
    from incidents.flight_feed import flight_events_apply

    actor = SystemActor(TAG)
    start = time.perf_counter()
    for offset in range(0, len(batch), BATCH):
        flight_events_apply(events=batch[offset : offset + BATCH], source=TAG, actor=actor)
    return time.perf_counter() - start


def copy_seconds() -> float:
    """COPY the event rows the feed stored into an empty table with the same columns and indexes."""
    from django.db import connection, transaction

    with connection.cursor() as cursor, tempfile.TemporaryFile() as spool:
        with cursor.cursor.copy(
            "COPY (SELECT * FROM incidents_flightstatusevent WHERE source = %s) TO STDOUT", (TAG,)
        ) as copy:
            for block in copy:
                spool.write(block)
        spool.seek(0)
        cursor.execute("DROP TABLE IF EXISTS bench_flight_event_copy")
        cursor.execute("CREATE TABLE bench_flight_event_copy (LIKE incidents_flightstatusevent INCLUDING ALL)")
        start = time.perf_counter()
        with transaction.atomic(), cursor.cursor.copy("COPY bench_flight_event_copy FROM STDIN") as copy:
            while block := spool.read(1 << 16):
                copy.write(block)
        seconds = time.perf_counter() - start
        cursor.execute("DROP TABLE bench_flight_event_copy")
    return seconds


def clean_up() -> None:
    from care.core.audit import AuditEntry
    from care.customers.models import Customer
    from incidents.models import AffectedCustomer, Flight, FlightStatusEvent, Incident

    FlightStatusEvent.objects.filter(source__startswith="BENCH-FLIGHTS-").delete()
    AuditEntry.objects.filter(action="flight.status_change", actor_label__startswith="BENCH-FLIGHTS-").delete()
    AffectedCustomer.objects.filter(incident__title__startswith="BENCH-FLIGHTS-").delete()
    Incident.objects.filter(title__startswith="BENCH-FLIGHTS-").delete()
    Customer.objects.filter(external_ref__startswith="BENCH-FLIGHTS-").delete()
    Flight.objects.filter(carrier=CARRIER).delete()


def main() -> None:
    setup_django(DATABASE_URL)
    from incidents.models import AffectedCustomer, FlightStatusEvent

    clean_up()
    try:
        fill()
        batch = events()
        seconds = apply_all(batch)
        stored = FlightStatusEvent.objects.filter(source=TAG, outcome="applied").count()
        if stored != len(batch):
            raise SystemExit(f"the feed applied {stored} of {len(batch)} events")
        moved = AffectedCustomer.objects.filter(carrier=CARRIER, impact_changed_at__isnull=False).count()
        copied = copy_seconds()
        emit(
            "flight_feed_events_per_second",
            len(batch) / seconds,
            "events/s",
            reference=len(batch) / copied,
            reference_name="COPY of the same number of event rows into a table with the event table's indexes",
            seconds=round(seconds, 2),
            copy_seconds=round(copied, 3),
            events=len(batch),
            flights=FLIGHTS,
            passengers=FLIGHTS * PASSENGERS,
            passengers_worsened=moved,
        )
        again = apply_all(batch)
        emit("flight_feed_rerun_events_per_second", len(batch) / again, "events/s", seconds=round(again, 2),
             events=len(batch))  # fmt: skip
    finally:
        clean_up()


if __name__ == "__main__":
    main()
