"""The flight status feed: events from the operations system move flights, and every passenger of a flight at once.

An event (a JSON object) names its flight (``carrier``, ``flight_number``, ``flight_date``, ``origin``), its own
``event_id`` and timestamp ``occurred_at``, the flight's ``status`` (scheduled, delayed, cancelled, diverted,
departed, arrived) and any of ``destination``, ``diverted_to``, ``delay_minutes`` and the scheduled, estimated and
actual departure and arrival times (``*_departure_at``, ``*_arrival_at``; a null clears one).

- **Idempotent** by (source, event_id): a copy of an event already received changes nothing ("duplicate").
- **Ordered** by the event's own timestamp: an event older than the flight's newest applied one changes nothing
  ("stale"), whenever it arrives; ties go by event id, so two feeds replaying one day end in one state.
- **Batch**: one transaction per call, set-based (a handful of statements whatever the number of events); the
  flights are locked in key order, so two feeds at once wait for each other instead of deadlocking.
- **Per-event errors**, like the ingest's rejected rows: a bad event is "rejected" with its reasons and the good
  ones of the batch are applied.

A flight that changed gets one audit entry (``flight.status_change``): {field: [from, to]}, the events that
changed it and how many passengers it moved. Its passengers' impact (delay, cancelled, diverted) follows in
one UPDATE; a passenger whose impact got worse gets ``impact_changed_at``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from care.core.actors import Actor
from care.core.audit import audit_record_many
from care.core.background import enqueue_on_commit
from care.core.errors import DomainError
from incidents.flight_models import EventOutcome, Flight, FlightStatusEvent
from incidents.flight_validate import TIME_FIELDS, CleanEvent, RejectedEvent, event_validate
from incidents.flights import DELAY_THRESHOLDS, FlightKey, derived_delay, passenger_impact

BATCH_MAX = 10_000
# Flight keys per lookup statement: four parameters each, under SQLite's 32,766 and PostgreSQL's 65,535.
KEYS_PER_STATEMENT = 2_000
# What an audit entry compares, and what an applied event may set.
FLIGHT_FIELDS = ("status", "delay_minutes", "destination", "diverted_to", *TIME_FIELDS)
AUDIT_EVENT_IDS = 50


@dataclass(frozen=True)
class EventResult:
    index: int
    event_id: str
    outcome: str
    reason: str = ""


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _flights_locked(keys: list[FlightKey]) -> dict[FlightKey, Flight]:
    """The flights of ``keys`` (created if missing), locked in key order."""
    Flight.objects.bulk_create(
        [Flight(carrier=k.carrier, number=k.number, date=k.date, origin=k.origin) for k in keys],
        ignore_conflicts=True,  # INSERT … ON CONFLICT DO NOTHING: a flight another feed created is kept
        batch_size=KEYS_PER_STATEMENT,
    )
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    table = Flight._meta.db_table
    found: dict[FlightKey, Flight] = {}
    for chunk in _chunks(keys, KEYS_PER_STATEMENT):
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


def _newer(event: CleanEvent, source: str, flight: Flight) -> bool:
    if flight.last_event_at is None:
        return True
    return (event.occurred_at, source, event.event_id) > (
        flight.last_event_at,
        flight.last_event_source,
        flight.last_event_id,
    )


def _apply(flight: Flight, event: CleanEvent, source: str, now: dt.datetime) -> None:
    values = dict(event.values)
    given_delay = values.pop("delay_minutes", None)
    flight.status = event.status
    for name, value in values.items():
        setattr(flight, name, value)
    flight.delay_minutes = derived_delay(flight, given=given_delay)
    flight.last_event_at = event.occurred_at
    flight.last_event_source = source
    flight.last_event_id = event.event_id
    flight.updated_at = now


def _band_sql(column: str) -> str:
    return " + ".join(f"CASE WHEN {column} >= {threshold} THEN 1 ELSE 0 END" for threshold in DELAY_THRESHOLDS)


# The passengers' impact from their flight, only where it differs; the right-hand sides read the row's old values,
# so "worse" compares the passenger's own impact before and after (a threshold crossed, cancelled, diverted).
_NEW_CANCELLED = "(f.status = 'cancelled')"
_NEW_DIVERTED = "(f.status = 'diverted' OR f.diverted_to <> '')"
_PASSENGERS_UPDATE = f"""
    UPDATE incidents_affectedcustomer AS a SET
        impact_changed_at = CASE
            WHEN ({_band_sql("f.delay_minutes")}) > ({_band_sql("a.delay_minutes")})
                OR ({_NEW_CANCELLED} AND NOT a.cancelled) OR ({_NEW_DIVERTED} AND NOT a.diverted)
            THEN %s ELSE a.impact_changed_at END,
        delay_minutes = f.delay_minutes,
        cancelled = {_NEW_CANCELLED},
        diverted = {_NEW_DIVERTED}
    FROM incidents_flight f
    WHERE f.id = a.flight_id AND f.id IN ({{placeholders}})
        AND (a.delay_minutes <> f.delay_minutes OR a.cancelled <> {_NEW_CANCELLED} OR a.diverted <> {_NEW_DIVERTED})
    RETURNING flight_id
"""  # noqa: S608 - no user input: the thresholds are ours


def _passengers_move(flight_ids: list[int], now: dt.datetime) -> Counter[int]:
    """Write the flights' impact through to their passengers; how many moved per flight."""
    moved: Counter[int] = Counter()
    with connection.cursor() as cursor:
        for chunk in _chunks(sorted(flight_ids), KEYS_PER_STATEMENT):
            placeholders = ", ".join(["%s"] * len(chunk))
            if connection.features.has_select_for_update:
                # In id order, as the sweeps and the sender lock affected rows, so no two writers cross.
                cursor.execute(
                    f"SELECT id FROM incidents_affectedcustomer WHERE flight_id IN ({placeholders}) "  # noqa: S608
                    "ORDER BY id FOR UPDATE",
                    list(chunk),
                )
            cursor.execute(_PASSENGERS_UPDATE.format(placeholders=placeholders), [now, *chunk])
            moved.update(flight_id for (flight_id,) in cursor.fetchall())
    return moved


def _event_row(
    event: CleanEvent | RejectedEvent,
    *,
    source: str,
    outcome: str,
    reason: str,
    flight: Flight | None,
    now: dt.datetime,
) -> FlightStatusEvent:
    if isinstance(event, RejectedEvent):
        return FlightStatusEvent(
            source=source, event_id=event.event_id, fields=event.raw, received_at=now, outcome=outcome, reason=reason
        )
    return FlightStatusEvent(
        source=source,
        event_id=event.event_id,
        carrier=event.key.carrier,
        flight_number=event.key.number,
        flight_date=event.key.date,
        origin=event.key.origin,
        flight=flight,
        occurred_at=event.occurred_at,
        status=event.status,
        fields=event.given,
        received_at=now,
        outcome=outcome,
        reason=reason,
    )


@dataclass
class _Batch:
    """What one call works out: each event's result, the event rows to store, the valid events to fold."""

    results: dict[int, EventResult]
    rows: list[FlightStatusEvent]
    clean: list[CleanEvent]


def _triage(events: Sequence[Any], *, source: str, now: dt.datetime) -> _Batch:
    """Validate every event; the bad ones rejected, a second copy in the batch a duplicate, the rest to fold."""
    batch = _Batch(results={}, rows=[], clean=[])
    seen: set[str] = set()
    for event in (event_validate(index, data) for index, data in enumerate(events)):
        if isinstance(event, RejectedEvent):
            batch.results[event.index] = EventResult(event.index, event.event_id, EventOutcome.REJECTED, event.reason)
            batch.rows.append(_event_row(event, source=source, outcome=EventOutcome.REJECTED, reason=event.reason,
                                         flight=None, now=now))  # fmt: skip
        elif event.event_id in seen:
            batch.results[event.index] = EventResult(
                event.index, event.event_id, EventOutcome.DUPLICATE, "repeated in this batch"
            )
        else:
            seen.add(event.event_id)
            batch.clean.append(event)
    return batch


def _received(source: str, event_ids: list[str]) -> set[str]:
    """The ids among ``event_ids`` that ``source`` sent before (applied or stale)."""
    received: set[str] = set()
    for chunk in _chunks(sorted(event_ids), KEYS_PER_STATEMENT):
        received |= set(
            FlightStatusEvent.objects.filter(
                source=source, event_id__in=chunk, outcome__in=(EventOutcome.APPLIED, EventOutcome.STALE)
            ).values_list("event_id", flat=True)
        )
    return received


def _audit_entries(
    touched: list[Flight], *, before: dict[int, dict[str, Any]], applied: dict[int, list[str]], moved: Counter[int],
    source: str,
) -> list[tuple[Flight, dict[str, list[Any]], dict[str, Any]]]:  # fmt: skip
    entries = []
    for flight in touched:
        changes = {
            name: [before[flight.pk][name], getattr(flight, name)]
            for name in FLIGHT_FIELDS
            if before[flight.pk][name] != getattr(flight, name)
        }
        if changes:
            event_ids = applied[flight.pk]
            details = {"event_id": event_ids[-1], "source": source, "passengers_moved": moved[flight.pk],
                       "event_ids": event_ids[-AUDIT_EVENT_IDS:], "flight": flight.label}  # fmt: skip
            entries.append((flight, changes, details))
    return entries


def flight_events_apply(*, events: Sequence[Any], source: str, actor: Actor) -> list[EventResult]:
    """Apply a batch of status events from ``source`` (one transaction); the result of each, in the given order."""
    if not source.strip():
        raise DomainError("Say which system sent the events.")
    if len(events) > BATCH_MAX:
        raise DomainError(f"At most {BATCH_MAX} events per batch; send the rest in another.")
    now = timezone.now()
    batch = _triage(events, source=source, now=now)
    with transaction.atomic():
        flights = _flights_locked(sorted({event.key for event in batch.clean})) if batch.clean else {}
        # After the flights' locks: a feed sending the same events at once has committed them by now.
        received = _received(source, [event.event_id for event in batch.clean])
        before = {flight.pk: {name: getattr(flight, name) for name in FLIGHT_FIELDS} for flight in flights.values()}
        impact_before = {flight.pk: passenger_impact(flight) for flight in flights.values()}
        applied: dict[int, list[str]] = defaultdict(list)
        for event in sorted(batch.clean, key=lambda e: e.order):
            flight = flights[event.key]
            if event.event_id in received:
                outcome, reason = EventOutcome.DUPLICATE, "already received"
            elif not _newer(event, source, flight):
                outcome = EventOutcome.STALE
                reason = f"older than event {flight.last_event_id} of {flight.last_event_at:%Y-%m-%dT%H:%M:%S%z}"
            else:
                outcome, reason = EventOutcome.APPLIED, ""
                _apply(flight, event, source, now)
                applied[flight.pk].append(event.event_id)
            batch.results[event.index] = EventResult(event.index, event.event_id, outcome, reason)
            if outcome != EventOutcome.DUPLICATE:  # a copy is answered, not stored a second time
                batch.rows.append(
                    _event_row(event, source=source, outcome=outcome, reason=reason, flight=flight, now=now)
                )
        touched = [flight for flight in flights.values() if flight.pk in applied]
        Flight.objects.bulk_update(
            touched,
            fields=[*FLIGHT_FIELDS, "last_event_at", "last_event_source", "last_event_id", "updated_at"],
            batch_size=500,
        )
        moved = _passengers_move(
            [flight.pk for flight in touched if passenger_impact(flight) != impact_before[flight.pk]], now
        )
        FlightStatusEvent.objects.bulk_create(batch.rows, batch_size=2_000)
        # The incidents' counters count rows and contacts, which an impact does not change: nothing to refresh.
        audit_record_many(
            actor=actor,
            action="flight.status_change",
            entries=_audit_entries(touched, before=before, applied=applied, moved=moved, source=source),
            at=now,
        )
        if touched:
            # Detection need not wait for beat's minute: it runs once these events are committed.
            enqueue_on_commit("incidents.tasks.sweep_detection_task")
    return [batch.results[index] for index in range(len(events))]


def outcome_counts(results: Sequence[EventResult]) -> dict[str, int]:
    counts = Counter(result.outcome for result in results)
    return {outcome: counts.get(outcome, 0) for outcome in EventOutcome.values}
