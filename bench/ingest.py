"""Ingest of affected customers on PostgreSQL: a 100,000-row CSV file, beside a plain COPY of the same file.

A deterministic file is written to var/ (customers on real flights out of real airports, 0.5% bad rows and
0.2% repeated customers, as an operations feed would have). Then, on PostgreSQL:

- the floor: ``COPY … FROM STDIN (FORMAT csv, HEADER)`` of the same file into an empty table of text
  columns, no indexes, streamed from the file in 64 KB blocks;
- the import: ``incidents.ingest.services.import_job_run`` through the COPY path (read, validate, COPY
  into the staging table in chunks of 5,000, merge with INSERT … ON CONFLICT), into a new open incident,
  with the rows per second, the ratio to the floor, and the split between reading+staging and merging;
- a second floor: COPY of the rows the import wrote into empty tables with the same indexes and foreign
  keys (what writing these rows costs at all);
- the same file again (a rerun must add and change nothing), then the file with the delays of its flights that
  were not cancelled 45 minutes longer (about 60% of the rows: each an update of the row's impact, audited in the
  job's entry, issue 14), and per-row validation alone in Python;
- peak memory (maxrss) after imports of 10,000 and 100,000 rows: flat if the file is streamed.

The sizes are BENCH_INGEST_SIZES (10,000 and 100,000; with BENCH_SMALL=1 the small ones in bench/common.py).

The database is BENCH_INGEST_DATABASE_URL, else DATABASE_URL if it is PostgreSQL, else care_bench_ingest
(created and migrated if missing).
The benchmark's incidents and customers are deleted at the end, so it can share a development database.
"""

from __future__ import annotations

import csv
import os
import random
import resource
import sys
import time
from pathlib import Path

# Runnable as `python bench/ingest.py` as well as through bench/run.py.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench.common import ROOT, emit, int_list_setting, setup_django

# The benchmark deletes only what it created, so it may run on the configured PostgreSQL database.
_CONFIGURED = os.environ.get("DATABASE_URL", "")
DATABASE_URL = os.environ.get("BENCH_INGEST_DATABASE_URL") or (
    _CONFIGURED if _CONFIGURED.startswith("postgres") else "postgres://postgres@127.0.0.1:5432/care_bench_ingest"
)
SIZES = int_list_setting("BENCH_INGEST_SIZES")  # 10,000 and 100,000; with BENCH_SMALL=1 see bench/common.py
TAG = f"BENCH-INGEST-{os.getpid()}"
STATIONS = ("JFK", "EWR", "LGA", "BOS", "ORD", "ATL", "LAX", "SFO", "MIA", "DFW", "DEN", "SEA", "IAD", "CLT")
CARRIERS = ("B6", "UA", "AA", "DL", "EV", "9E", "WN", "MQ")
LANGUAGES = ("en", "en", "en", "en", "en", "en", "en", "es", "fr", "de")
BAD_EVERY = 200  # 0.5% of the rows are bad, one kind after the other
REPEAT_EVERY = 500  # 0.2% repeat an earlier customer


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_file(path: Path, rows: int, *, seed: int = 20130208, delay_shift: int = 0) -> None:
    """The CSV, written row by row (the benchmark must not hold the file either).

    ``delay_shift``: minutes added to the delay of every flight not cancelled (the same customers and flights,
    the same random draws otherwise), for a re-import that changes their impact.
    """
    from incidents.ingest.format import COLUMNS

    rng = random.Random(seed)
    bad_kinds = (
        {"email": "", "phone": ""},
        {"email": "someone@"},
        {"destination": "XXX"},
        {"delay_minutes": "-30"},
        {"delay_minutes": "99999"},
    )
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for n in range(1, rows + 1):
            number = n - 7 if n % REPEAT_EVERY == 0 else n
            origin, destination = rng.sample(STATIONS, 2)
            cancelled = rng.random() < 0.4
            hour = rng.randint(6, 21)
            row = {
                "customer_ref": f"{TAG}-{number:07d}",
                "name": f"Passenger {number}",
                "preferred_name": "",
                "email": f"passenger{number}@example.com",
                "phone": f"+1212555{number % 10000:04d}" if rng.random() < 0.7 else "",
                "language": rng.choice(LANGUAGES),
                "time_zone": "America/New_York",
                "loyalty_tier": rng.choice(("none", "none", "silver", "gold")),
                "carrier": rng.choice(CARRIERS),
                "flight_number": str(rng.randint(1, 4999)),
                "flight_date": "2013-02-08",
                "origin": origin,
                "destination": destination,
                "scheduled_departure": f"2013-02-08T{hour:02d}:{rng.choice((0, 15, 30, 45)):02d}:00-05:00",
                "booking_reference": "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=6)),
                "delay_minutes": "0" if cancelled else str(rng.randint(60, 600) + delay_shift),
                "cancelled": "true" if cancelled else "false",
                "missed_connection": "true" if rng.random() < 0.1 else "false",
                "overnight_stay": "true" if cancelled and rng.random() < 0.3 else "false",
                "diverted": "false",
                "downgraded": "false",
            }
            if n % BAD_EVERY == 0:
                row.update(bad_kinds[(n // BAD_EVERY) % len(bad_kinds)])
            writer.writerow(row)


def plain_copy_seconds(path: Path) -> float:
    """The floor: PostgreSQL's COPY of the same file into an empty table (text columns, no indexes)."""
    from django.db import connection

    from incidents.ingest.format import COLUMNS

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_plain_copy")
        cursor.execute(f"CREATE TABLE bench_plain_copy ({', '.join(f'{column} text' for column in COLUMNS)})")
        start = time.perf_counter()
        with (
            path.open("rb") as handle,
            cursor.cursor.copy("COPY bench_plain_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
        ):
            while block := handle.read(1 << 16):
                copy.write(block)
        seconds = time.perf_counter() - start
        cursor.execute("SELECT count(*) FROM bench_plain_copy")
        copied = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_plain_copy")
    if copied == 0:
        raise SystemExit("the plain COPY copied nothing")
    return seconds


def indexed_copy_seconds(incident_id: int) -> float:
    """A second floor: COPY the rows the import wrote into empty tables with the same indexes and foreign keys.

    Index upkeep and foreign-key checks are most of the merge's cost; this is what writing these rows costs
    with no staging, no validation and no upsert, so the import's overhead on top of it can be read off.
    """
    import tempfile

    from django.db import connection, transaction

    with connection.cursor() as cursor, tempfile.TemporaryFile() as customers, tempfile.TemporaryFile() as affected:
        for sql, spool in (
            (
                (
                    "COPY (SELECT c.* FROM care_customer c WHERE c.id IN "
                    "(SELECT customer_id FROM incidents_affectedcustomer WHERE incident_id = %s)) TO STDOUT"
                ),
                customers,
            ),
            ("COPY (SELECT * FROM incidents_affectedcustomer WHERE incident_id = %s) TO STDOUT", affected),
        ):
            with cursor.cursor.copy(sql, (incident_id,)) as copy:
                for block in copy:
                    spool.write(block)
            spool.seek(0)
        cursor.execute("DROP TABLE IF EXISTS bench_affected_copy, bench_customer_copy")
        cursor.execute("CREATE TABLE bench_customer_copy (LIKE care_customer INCLUDING ALL)")
        cursor.execute("CREATE TABLE bench_affected_copy (LIKE incidents_affectedcustomer INCLUDING ALL)")
        cursor.execute(
            "ALTER TABLE bench_affected_copy ADD FOREIGN KEY (customer_id) REFERENCES bench_customer_copy (id) "
            "DEFERRABLE INITIALLY DEFERRED, ADD FOREIGN KEY (incident_id) REFERENCES incidents_incident (id) "
            "DEFERRABLE INITIALLY DEFERRED"
        )
        start = time.perf_counter()
        with transaction.atomic():
            for table, spool in (("bench_customer_copy", customers), ("bench_affected_copy", affected)):
                with cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy:
                    while block := spool.read(1 << 16):
                        copy.write(block)
        seconds = time.perf_counter() - start
        cursor.execute("DROP TABLE bench_affected_copy, bench_customer_copy")
    return seconds


def open_incident(label: str) -> int:
    from datetime import timedelta

    from django.utils import timezone

    from incidents.services import incident_create, incidents_transition

    incident = incident_create(
        actor_label="bench",
        title=f"{TAG} {label}",
        kind="cancellation",
        cause="weather",
        stations="JFK",
        explanation="A blizzard closed the runways.",
        next_update_due_at=timezone.now() + timedelta(hours=1),
        auto_send_notices=False,  # the benchmark measures the import, not the first notices
    )
    incidents_transition(incident_ids=[incident.pk], target="open", actor_label="bench")
    return incident.pk


def import_file(incident_id: int, path: Path) -> tuple[float, float, object]:
    """Run an import; return its seconds, the seconds of the final merge, and the job."""
    from incidents.ingest.services import import_job_create, import_job_run
    from incidents.models import ImportSource, Incident

    marks: list[float] = []
    with path.open("rb") as upload:
        job = import_job_create(
            incident=Incident.objects.get(pk=incident_id), source=ImportSource.COMMAND, upload=upload
        )
    start = time.perf_counter()
    done = import_job_run(job_id=job.pk, method="copy", on_progress=lambda _job: marks.append(time.perf_counter()))
    seconds = time.perf_counter() - start
    if done.status != "done":
        raise SystemExit(f"import failed: {done.error}")
    merge = marks[-1] - marks[-2] if len(marks) >= 2 else 0.0
    return seconds, merge, done


def validation_seconds(path: Path) -> tuple[float, int]:
    """Reading and validating every row in Python, nothing written: the per-row cost of the import."""
    from incidents.ingest.format import BadRow, RowReader
    from incidents.ingest.validate import validate

    start = time.perf_counter()
    rows = 0
    with path.open("rb") as handle:
        for _number, fields in RowReader(handle, "csv"):
            if not isinstance(fields, BadRow):
                validate(fields)
            rows += 1
    return time.perf_counter() - start, rows


def clean_up() -> None:
    import shutil

    from django.conf import settings
    from django.db import connection

    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)  # the benchmark's own media folder (see main)

    from care.customers.models import Customer
    from incidents.models import AffectedCustomer, Flight, Incident

    incidents = list(Incident.objects.filter(title__startswith=TAG).values_list("pk", flat=True))
    flights = set(AffectedCustomer.objects.filter(incident__in=incidents).values_list("flight_id", flat=True))
    Incident.objects.filter(pk__in=incidents).delete()  # cascades to affected rows and import jobs
    Customer.objects.filter(external_ref__startswith=TAG).delete()
    # The flights its files created (the demo's day is the same 8 February): those no one else's row or event names.
    Flight.objects.filter(pk__in=flights, passengers__isnull=True, events__isnull=True).delete()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_plain_copy, bench_affected_copy, bench_customer_copy")
        # The deleted rows' index entries would slow the next run's inserts (and anyone else's).
        cursor.execute(
            "VACUUM ANALYZE care_customer, incidents_affectedcustomer, incidents_importrejection, incidents_flight"
        )


def main() -> None:
    setup_django(DATABASE_URL)
    from django.conf import settings
    from django.db import connection

    settings.MEDIA_ROOT = str(ROOT / "var" / "bench_media")
    folder = ROOT / "var" / "bench_ingest"
    folder.mkdir(parents=True, exist_ok=True)
    clean_up()  # starts from vacuumed tables, whatever an earlier run left
    try:
        for size in sorted(SIZES):
            path = folder / f"affected-{size}.csv"
            write_file(path, size)
            megabytes = path.stat().st_size / 1e6
            with connection.cursor() as cursor:
                # Statistics as autovacuum keeps them: without the flights' (a table analysed while it was empty),
                # the planner looks each row's flight up through the (date, origin) index, 1.3 s per 12,000 rows.
                cursor.execute("ANALYZE care_customer, incidents_flight")
            copy_seconds = plain_copy_seconds(path)
            incident_id = open_incident(f"{size}")
            seconds, merge, job = import_file(incident_id, path)
            file_mb = round(megabytes, 1)
            emit(
                "ingest_rows_per_second",
                size / seconds,
                "rows/s",
                reference=size / copy_seconds,
                reference_name="plain COPY of the same file into an empty table",
                ratio_to_copy=round(seconds / copy_seconds, 2),
                seconds=round(seconds, 2),
                copy_seconds=round(copy_seconds, 2),
                merge_seconds=round(merge, 2),
                rejected=job.rows_rejected,  # type: ignore[attr-defined]
                affected_created=job.affected_created,  # type: ignore[attr-defined]
                rows=size,
                file_mb=file_mb,
            )
            emit("ingest_peak_rss", peak_rss_mb(), "MB", rows=size, file_mb=file_mb)
            indexed = indexed_copy_seconds(incident_id)
            emit(
                "ingest_seconds_beside_indexed_copy",
                seconds,
                "s",
                reference=indexed,
                reference_name="COPY of the written customers and affected rows into tables with the same indexes "
                "and foreign keys",
                ratio=round(seconds / indexed, 2),
                rows=size,
                file_mb=file_mb,
            )
            again, _merge, rerun = import_file(incident_id, path)
            if rerun.affected_created or rerun.customers_created:  # type: ignore[attr-defined]
                raise SystemExit("the rerun created rows")
            emit(
                "ingest_rerun_rows_per_second",
                size / again,
                "rows/s",
                seconds=round(again, 2),
                rows=size,
                file_mb=file_mb,
            )
            changed_path = folder / f"affected-{size}-later.csv"
            write_file(changed_path, size, delay_shift=45)
            later, _merge, reimport = import_file(incident_id, changed_path)
            if reimport.affected_created or reimport.customers_created:  # type: ignore[attr-defined]
                raise SystemExit("the re-import created rows")
            emit(
                "ingest_reimport_changed_rows_per_second",
                size / later,
                "rows/s",
                seconds=round(later, 2),
                # Zero before issue 14's re-import (a later file changed nothing then).
                affected_updated=getattr(reimport, "affected_updated", 0),
                rows=size,
                file_mb=file_mb,
            )
            checked, rows = validation_seconds(path)
            emit(
                "ingest_read_and_validate_seconds_per_100k_rows",
                checked * 100_000 / rows,
                "s",
                rows=size,
                file_mb=file_mb,
            )
    finally:
        clean_up()


if __name__ == "__main__":
    main()
