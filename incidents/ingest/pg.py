"""The PostgreSQL path: COPY the good rows into a temporary staging table, then merge them set-based.

Rows are COPYed in chunks (one COPY statement per chunk, written as COPY text by hand, which is several
times cheaper than psycopg's per-value adaptation), so the connection is free between chunks for the
progress counters and the rejected rows. Nothing reaches the real tables until ``finish``, which in one
transaction: rejects the repeated rows (a customer's flight given twice: all but the first row of each), updates
the customers whose details changed (from their first row: a customer on two flights has two rows), inserts the
new customers (``ON CONFLICT (external_ref) DO NOTHING``), updates the impact of the rows already recorded where
the file changes it (``UPDATE … FROM`` the staging table, RETURNING the old and new values for the job's audit
entry: incidents.ingest.impact), inserts one affected row per customer and flight (``ON CONFLICT (incident_id,
customer_id, carrier, flight_number, flight_date) DO NOTHING``, so a rerun adds nothing), gives the new rows their
flights (incidents.flights) and recomputes the incident's counters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.utils import timezone

from care.core.actors import Actor
from care.customers.models import Customer
from incidents.flights import flights_for_affected
from incidents.ingest.impact import changes_from_rows, impact_changes_audit, lock_sql, update_sql
from incidents.ingest.validate import CleanRow
from incidents.services import incidents_refresh_counts

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

STAGE_COLUMNS = (
    ("row_no", "integer"),
    ("customer_ref", "text"),
    ("name", "text"),
    ("preferred_name", "text"),
    ("email", "text"),
    ("phone", "text"),
    ("language", "text"),
    ("time_zone", "text"),
    ("loyalty_tier", "text"),
    ("carrier", "text"),
    ("flight_number", "text"),
    ("flight_date", "date"),
    ("origin", "text"),
    ("destination", "text"),
    ("scheduled_departure_at", "timestamptz"),
    ("booking_reference", "text"),
    ("delay_minutes", "integer"),
    ("cancelled", "boolean"),
    ("missed_connection", "boolean"),
    ("overnight_stay", "boolean"),
    ("diverted", "boolean"),
    ("downgraded", "boolean"),
)
# Per sort or hash of this one transaction, on the database server (not in this process).
MERGE_WORK_MEM = "128MB"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"


def _text(value: str | None) -> str:
    return _NULL if value is None else value.translate(_ESCAPES)


def _line(number: int, row: CleanRow) -> str:
    """One staging row in COPY text format.

    Written out field by field for speed (a generic per-value formatter costs a third of the import's Python
    time). Only free text can hold a tab, newline or backslash: the other fields passed a regular expression
    or are typed, so they go in unescaped.
    """
    (ref, name, preferred, email, phone, language, zone, tier, carrier, flight, date, origin, destination,
     departure, booking, delay, cancelled, missed, overnight, diverted, downgraded) = row  # fmt: skip
    null = _NULL
    return (
        f"{number}\t{ref.translate(_ESCAPES)}\t{name.translate(_ESCAPES)}\t{_text(preferred)}\t{_text(email)}\t"
        f"{phone or null}\t{language or null}\t{zone or null}\t{tier or null}\t{carrier}\t{flight}\t"
        f"{date.isoformat()}\t{origin}\t{destination}\t{departure.isoformat() if departure else null}\t"
        f"{booking}\t{delay}\t{'t' if cancelled else 'f'}\t{'t' if missed else 'f'}\t{'t' if overnight else 'f'}\t"
        f"{'t' if diverted else 'f'}\t{'t' if downgraded else 'f'}\n"
    )


class CopySink:
    """Stages good rows with COPY; ``finish`` merges them into customers and affected customers."""

    def __init__(self, *, job_id: int, incident_id: int, actor: Actor) -> None:
        self.job_id = job_id
        self.incident_id = incident_id
        self.actor = actor
        self.table = f"ingest_stage_{job_id}"
        self.staged = 0
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
            columns = ", ".join(f"{name} {kind}" for name, kind in STAGE_COLUMNS)
            cursor.execute(f"CREATE TEMP TABLE {self.table} ({columns})")

    def add(self, rows: Sequence[tuple[int, CleanRow]]) -> None:
        if not rows:
            return
        lines = "".join([_line(number, row) for number, row in rows])
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {self.table} FROM STDIN") as copy:
            copy.write(lines)
        self.staged += len(rows)

    def finish(self) -> dict[str, int]:
        """Merge the staged rows; return the counters for the job."""
        table = self.table
        # The application's clock, not the database's now(): every other timestamp (first contact, the alert's
        # "waited" minutes, the letters) is on it, and a test's controlled clock reaches it.
        now = timezone.now()
        customer_defaults = {
            "language": Customer._meta.get_field("language").get_default(),
            "time_zone": Customer._meta.get_field("time_zone").get_default(),
            "loyalty_tier": Customer._meta.get_field("loyalty_tier").get_default(),
        }
        with transaction.atomic(), connection.cursor() as cursor:
            # The merge sorts and hashes the whole staging table (duplicates, lock order, the join to
            # customers); at the default 4 MB those spill to disk and the merge takes half as long again.
            cursor.execute(f"SET LOCAL work_mem = '{MERGE_WORK_MEM}'")
            # No ANALYZE of the staging table: the planner sizes it from its pages, which is enough for these
            # joins, and ANALYZE cost 5% of a 100,000-row merge.
            # Only the first row of a customer's flight counts; the others are reported with the row they repeat.
            # Another flight of the same customer is a leg of their journey, kept (issue 18).
            cursor.execute(
                f"""
                WITH firsts AS (
                    SELECT row_no, customer_ref, carrier, flight_number, flight_date,
                           min(row_no) OVER (PARTITION BY customer_ref, carrier, flight_number, flight_date)
                               AS first_row
                    FROM {table}
                ), gone AS (
                    DELETE FROM {table} s USING firsts f
                    WHERE s.row_no = f.row_no AND f.row_no > f.first_row
                    RETURNING s.*, f.first_row
                )
                INSERT INTO incidents_importrejection (job_id, row_number, reason, raw)
                SELECT %s, g.row_no,
                       'duplicate: customer_ref ' || g.customer_ref || ' on flight ' || g.carrier || ' '
                           || g.flight_number || ' of ' || g.flight_date || ' is already on row ' || g.first_row,
                       to_jsonb(g) - 'row_no' - 'first_row' - 'scheduled_departure_at'
                       || jsonb_build_object('scheduled_departure', g.scheduled_departure_at)
                FROM gone g
                ON CONFLICT (job_id, row_number) DO NOTHING
                """,  # noqa: S608 - the table name is ours
                [self.job_id],
            )
            duplicates = cursor.rowcount
            # Contact details the file leaves blank keep what is stored; the name is always the file's.
            # Two imports at once must take their locks in one order, or each waits for the other: the rows
            # that will change are locked by id first, new customers are inserted by reference and affected
            # rows by customer id.
            # A customer's details come from their first row (several rows when they have several flights), so
            # every statement below sees one row per customer and the UPDATE is not left to pick one.
            people = f"(SELECT DISTINCT ON (customer_ref) * FROM {table} ORDER BY customer_ref, row_no)"  # noqa: S608
            differs = """
                (c.name, c.preferred_name, c.email, c.phone, c.language, c.time_zone, c.loyalty_tier)
                IS DISTINCT FROM
                (s.name, coalesce(s.preferred_name, c.preferred_name), coalesce(s.email, c.email),
                 coalesce(s.phone, c.phone), coalesce(s.language, c.language),
                 coalesce(s.time_zone, c.time_zone), coalesce(s.loyalty_tier, c.loyalty_tier))
            """
            cursor.execute(
                f"SELECT c.id FROM care_customer c JOIN {people} s ON c.external_ref = s.customer_ref "  # noqa: S608
                f"WHERE {differs} ORDER BY c.id FOR UPDATE OF c"
            )
            cursor.execute(
                f"""
                UPDATE care_customer c SET
                    name = s.name,
                    preferred_name = coalesce(s.preferred_name, c.preferred_name),
                    email = coalesce(s.email, c.email),
                    phone = coalesce(s.phone, c.phone),
                    language = coalesce(s.language, c.language),
                    time_zone = coalesce(s.time_zone, c.time_zone),
                    loyalty_tier = coalesce(s.loyalty_tier, c.loyalty_tier),
                    updated_at = %(now)s
                FROM {people} s
                WHERE c.external_ref = s.customer_ref AND {differs}
                """,  # noqa: S608
                {"now": now},
            )
            customers_updated = cursor.rowcount
            cursor.execute(f"SELECT count(DISTINCT customer_ref) FROM {table}")  # noqa: S608
            (customers_in_file,) = cursor.fetchone()
            cursor.execute(
                f"""
                INSERT INTO care_customer (external_ref, name, preferred_name, email, phone, language, time_zone,
                    loyalty_tier, contact_consent, suppression_reason, created_at, updated_at)
                SELECT s.customer_ref, s.name, coalesce(s.preferred_name, ''), coalesce(s.email, ''),
                       coalesce(s.phone, ''), coalesce(s.language, %(language)s),
                       coalesce(s.time_zone, %(time_zone)s), coalesce(s.loyalty_tier, %(loyalty_tier)s),
                       true, '', %(now)s, %(now)s
                FROM {people} s
                WHERE NOT EXISTS (SELECT FROM care_customer c WHERE c.external_ref = s.customer_ref)
                ORDER BY s.customer_ref
                ON CONFLICT (external_ref) DO NOTHING
                """,  # noqa: S608
                {**customer_defaults, "now": now},
            )
            customers_created = cursor.rowcount
            # Before the new rows go in, so that only the rows recorded by an earlier file are compared.
            affected_updated, flight_kept = self._update_recorded(cursor, now)
            cursor.execute(
                f"""
                INSERT INTO incidents_affectedcustomer (incident_id, customer_id, delay_minutes, cancelled,
                    missed_connection, overnight_stay, diverted, downgraded, carrier, flight_number, flight_date,
                    origin, destination, scheduled_departure_at, booking_reference, created_at)
                SELECT %s, c.id, s.delay_minutes, s.cancelled, s.missed_connection, s.overnight_stay, s.diverted,
                       s.downgraded, s.carrier, s.flight_number, s.flight_date, s.origin, s.destination,
                       s.scheduled_departure_at, s.booking_reference, %s
                FROM {table} s JOIN care_customer c ON c.external_ref = s.customer_ref
                WHERE NOT EXISTS (
                    SELECT FROM incidents_affectedcustomer a
                    WHERE a.incident_id = %s AND a.customer_id = c.id AND a.carrier = s.carrier
                        AND a.flight_number = s.flight_number AND a.flight_date = s.flight_date
                )
                ORDER BY c.id, s.flight_date, s.row_no
                ON CONFLICT (incident_id, customer_id, carrier, flight_number, flight_date) DO NOTHING
                """,  # noqa: S608
                [self.incident_id, now, self.incident_id],
            )
            affected_created = cursor.rowcount
            # The new rows' flights (INSERT … ON CONFLICT DO NOTHING, in key order), and the rows pointed at them.
            linked = flights_for_affected(incident_ids=[self.incident_id])
            incidents_refresh_counts(incident_ids=[self.incident_id])
        return {
            "duplicates": duplicates,
            "customers_created": customers_created,
            "customers_updated": customers_updated,
            "customers_in_file": customers_in_file,
            "affected_created": affected_created,
            "affected_updated": affected_updated,
            "affected_existing": self.staged - duplicates - affected_created - affected_updated,
            "affected_flight_kept": flight_kept + linked.took_flight_status,
        }

    def _update_recorded(self, cursor: CursorWrapper, now: dt.datetime) -> tuple[int, int]:
        """Give the rows already recorded the file's impact where it differs (a fed flight keeps its own part).

        Returns how many rows changed, and how many rows' fed flight kept its status over the file's.
        """
        params: dict[str, int | dt.datetime] = {"incident": self.incident_id, "now": now}
        cursor.execute(lock_sql(self.table), params)
        locked = cursor.fetchall()
        flight_kept = sum(1 for _, _, kept in locked if kept)
        if not any(differs for _, differs, _ in locked):
            return 0, flight_kept  # a rerun of the same file: no second pass over it
        cursor.execute(update_sql(self.table), params)
        changes = changes_from_rows(cursor.fetchall())
        impact_changes_audit(
            changes=changes, actor=self.actor, job_id=self.job_id, incident_id=self.incident_id, at=now
        )
        return len(changes), flight_kept

    def close(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
