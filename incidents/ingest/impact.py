"""A later file about passengers already recorded: what it changes of their impact, and the audit of it.

Both sinks (pg.py set-based, orm.py in batches) follow the same rules, kept here:

- the file gives a passenger's impact: delay_minutes, cancelled, missed_connection, overnight_stay, diverted,
  downgraded; a row already recorded takes the fields that differ;
- except where the flight is fed (it has status events, ``Flight.last_event_at``): the feed is the source of truth
  for the flight, so the row keeps the flight's delay, cancelled and diverted, and the file still sets the
  passenger's own facts (missed connection, overnight stay, downgraded); such rows are counted ("flight kept");
- a row whose impact got worse (incidents.flights.impact_worsened: a delay crossing 60, 120 or 180 minutes, a
  cancellation, a diversion) gets ``impact_changed_at``, as the feed stamps it; one that got better does not;
- the changes are audited in the merge's transaction by one entry per import job (``affected.impact_change``, on
  the job; the ORM path, which commits chunk by chunk, writes one per chunk that changed rows): the exact counts
  (rows changed, got worse, flight kept; rows per field) and up to AUDIT_ROWS rows' {field: [from, to]}.
  Not one entry per changed row: measured with bench/ingest.py (12,000 rows, 7,216 of them changed), the per-row
  entries through audit_record_many cost 0.81-0.87 s, about 115 µs a row and twice the UPDATE itself; a fully changed
  100,000-row file would spend some 11 s on them, against 5 s for the whole import of the file.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any, NamedTuple

from care.core.actors import Actor
from care.core.audit import MAX_IDS, audit_record
from incidents.flight_models import Flight
from incidents.flights import DELAY_THRESHOLDS, FLIGHT_CANCELLED_SQL, FLIGHT_DIVERTED_SQL, impact_worsened
from incidents.flights import passenger_impact as flight_impact

IMPACT_FIELDS = ("delay_minutes", "cancelled", "missed_connection", "overnight_stay", "diverted", "downgraded")
AUDIT_ACTION = "affected.impact_change"
# How many changed rows the job's entry lists with their values (the counts are always exact).
AUDIT_ROWS = MAX_IDS


class Impact(NamedTuple):
    delay_minutes: int
    cancelled: bool
    missed_connection: bool
    overnight_stay: bool
    diverted: bool
    downgraded: bool

    @property
    def flight_part(self) -> tuple[int, bool, bool]:
        return (self.delay_minutes, self.cancelled, self.diverted)


def impact_from_file(given: Impact, flight: Flight | None) -> tuple[Impact, bool]:
    """The impact a row takes from the file, and whether a fed flight kept its own over what the file said."""
    if flight is None or flight.last_event_at is None:
        return given, False
    delay, cancelled, diverted = flight_impact(flight)
    taken = given._replace(delay_minutes=delay, cancelled=cancelled, diverted=diverted)
    return taken, taken.flight_part != given.flight_part


def worse(old: Impact, new: Impact) -> bool:
    return impact_worsened(old=old.flight_part, new=new.flight_part)


class ImpactChange(NamedTuple):
    affected_id: int
    old: Impact
    new: Impact
    worsened: bool
    flight_kept: bool


def impact_changes_audit(
    *, changes: Sequence[ImpactChange], actor: Actor, job_id: int, incident_id: int, at: dt.datetime
) -> None:
    """One ``affected.impact_change`` entry on the import job for these changes (none if there are none); call it in
    the merge's transaction. The rows listed are the first AUDIT_ROWS by id, the counts are of them all."""
    if not changes:
        return
    per_field: Counter[str] = Counter()
    rows: list[dict[str, Any]] = []
    for change in sorted(changes, key=lambda change: change.affected_id):
        fields = {
            name: [before, after]
            for name, before, after in zip(IMPACT_FIELDS, change.old, change.new, strict=True)
            if before != after
        }
        per_field.update(fields.keys())
        if len(rows) < AUDIT_ROWS:
            row: dict[str, Any] = {"affected_id": change.affected_id, "changes": fields, "worsened": change.worsened}
            if change.flight_kept:
                row["flight_status_kept"] = True
            rows.append(row)
    audit_record(
        actor=actor,
        action=AUDIT_ACTION,
        target=("incidents.importjob", job_id),
        details={
            "incident_id": incident_id,
            "count": len(changes),
            "worsened": sum(1 for change in changes if change.worsened),
            "flight_status_kept": sum(1 for change in changes if change.flight_kept),
            "fields": dict(sorted(per_field.items())),
            "rows": rows,
        },
        at=at,
    )


# --- the same rules in SQL, for the COPY sink (pg.py) -----------------------------------------------------------
def _band(column: str) -> str:
    return " + ".join(f"CASE WHEN {column} >= {threshold} THEN 1 ELSE 0 END" for threshold in DELAY_THRESHOLDS)


_FED = "f.last_event_at IS NOT NULL"
# Over the staged row s, its recorded row a and a's flight f (left-joined: null when the row has none).
_NEW = {
    "delay_minutes": f"CASE WHEN {_FED} THEN f.delay_minutes ELSE s.delay_minutes END",
    "cancelled": f"CASE WHEN {_FED} THEN {FLIGHT_CANCELLED_SQL} ELSE s.cancelled END",
    "missed_connection": "s.missed_connection",
    "overnight_stay": "s.overnight_stay",
    "diverted": f"CASE WHEN {_FED} THEN {FLIGHT_DIVERTED_SQL} ELSE s.diverted END",
    "downgraded": "s.downgraded",
}
_OLD_TUPLE = ", ".join(f"a.{name}" for name in IMPACT_FIELDS)
_NEW_TUPLE = ", ".join(_NEW[name] for name in IMPACT_FIELDS)
DIFFERS_SQL = f"(({_OLD_TUPLE}) IS DISTINCT FROM ({_NEW_TUPLE}))"
FLIGHT_KEPT_SQL = (
    f"({_FED} AND (s.delay_minutes, s.cancelled, s.diverted) IS DISTINCT FROM "
    f"(f.delay_minutes, {FLIGHT_CANCELLED_SQL}, {FLIGHT_DIVERTED_SQL}))"
)


def matched_sql(table: str) -> str:
    """The FROM clause of the staged rows already recorded on the incident (``%(incident)s``), with their flights.

    The staging table holds one row per customer and flight by now (the repeats were rejected), so each recorded row
    is matched once, by the unique (incident, customer, carrier, flight number, date).
    """
    return f"""
        {table} s
        JOIN care_customer c ON c.external_ref = s.customer_ref
        JOIN incidents_affectedcustomer a ON a.incident_id = %(incident)s AND a.customer_id = c.id
            AND a.carrier = s.carrier AND a.flight_number = s.flight_number AND a.flight_date = s.flight_date
        LEFT JOIN incidents_flight f ON f.id = a.flight_id
    """


def update_sql(table: str) -> str:
    """Write the file's impact over the recorded rows that differ; RETURNING each one's id, old and new impact, and
    whether it got worse and whether its fed flight kept its own. The old values come from the FROM list's own read
    of the row, taken after the rows were locked (``lock_sql``), so they are the values this update replaces."""
    old = ", ".join(f"a.{name} AS old_{name}" for name in IMPACT_FIELDS)
    new = ", ".join(f"{_NEW[name]} AS new_{name}" for name in IMPACT_FIELDS)
    worsened = (
        f"(({_band('x.new_delay_minutes')}) > ({_band('x.old_delay_minutes')})"
        " OR (x.new_cancelled AND NOT x.old_cancelled) OR (x.new_diverted AND NOT x.old_diverted))"
    )
    sets = ", ".join(f"{name} = x.new_{name}" for name in IMPACT_FIELDS)
    returning = ", ".join([*(f"x.old_{name}" for name in IMPACT_FIELDS), *(f"x.new_{name}" for name in IMPACT_FIELDS)])
    return f"""
        UPDATE incidents_affectedcustomer AS u SET {sets},
            impact_changed_at = CASE WHEN {worsened} THEN %(now)s ELSE u.impact_changed_at END
        FROM (
            SELECT a.id, {old}, {new}, {FLIGHT_KEPT_SQL} AS flight_kept
            FROM {matched_sql(table)}
            WHERE {DIFFERS_SQL}
        ) x
        WHERE u.id = x.id
        RETURNING u.id, {returning}, {worsened}, x.flight_kept
    """  # noqa: S608 - the table name is ours


def lock_sql(table: str) -> str:
    """The recorded rows the file will change (or whose fed flight overrules it), locked in id order as the feed and
    the sweeps lock affected rows, so two writers never cross; with whether each differs and whether its flight kept
    its own."""
    return f"""
        SELECT a.id, {DIFFERS_SQL}, {FLIGHT_KEPT_SQL}
        FROM {matched_sql(table)}
        WHERE {DIFFERS_SQL} OR {FLIGHT_KEPT_SQL}
        ORDER BY a.id
        FOR UPDATE OF a
    """  # noqa: S608 - the table name is ours


def changes_from_rows(rows: Sequence[Sequence[Any]]) -> list[ImpactChange]:
    """The RETURNING rows of ``update_sql`` as changes."""
    count = len(IMPACT_FIELDS)
    return [
        ImpactChange(
            affected_id=row[0],
            old=Impact(*row[1 : 1 + count]),
            new=Impact(*row[1 + count : 1 + 2 * count]),
            worsened=bool(row[1 + 2 * count]),
            flight_kept=bool(row[2 + 2 * count]),
        )
        for row in rows
    ]
