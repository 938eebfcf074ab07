"""Detection: disruptions at a station open an incident (or extend one) before customers call.

``detection_sweep`` runs every minute (beat: ``incidents.tasks.sweep_detection_task``) and after every batch of
the status feed that applied an event (incidents.flight_feed publishes the task). For each station watched by a
rule (incidents.DetectionRule: its own, else the default), it counts the departures that the feed's applied
events of the rolling window made cancelled or diverted, or delayed by at least the rule's delay (distinct
flights, per service day). Then, under a lock per station:

- an incident of the station that is a draft or active and covers that day (one of its flights is of that day)
  is **extended** with every disrupted flight of the station that day that is not part of it yet, with all their
  bookings as affected rows (incidents.bookings.incident_flights_add). This holds whenever the window shows a
  disruption, above the thresholds or not: once a station's day has an incident, a flight cancelled later that
  day belongs to it, and its passengers are told by the first-notice sweep;
- else, when the thresholds are reached (cancellations or delayed departures), a **draft incident** is created
  (incidents.services.incident_create) with those flights and their passengers, facts-only texts in four
  languages (care.operations.detection_texts), and an INCIDENT_DETECTED alert for the on-call coordinator;
- a draft whose severity (moderate at the thresholds, major at twice, critical at four times) reaches the rule's
  ``auto_open_severity`` is **opened** at once (incidents_transition), and the first-notice sweep tells every
  passenger.

Level-triggered and idempotent: a second run, or two at once, finds the incident the first created (the lock per
station is taken before it is looked for) and adds nothing twice (the affected rows' unique constraint). Every
write goes through a service and leaves its audit entry (incident.create, incident.flights_add, incident.update,
incident.transition).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from care.core.actors import SystemActor
from care.core.errors import DomainError
from care.operations.alerts import alerts_notify
from care.operations.detection_texts import DisruptionCounts, draft_texts
from incidents.bookings import LIVE_STATUSES, incident_flights_add
from incidents.models import (
    AffectedCustomer,
    Alert,
    AlertKind,
    Cause,
    DetectionRule,
    EventOutcome,
    Flight,
    FlightStatus,
    FlightStatusEvent,
    Incident,
    IncidentFlight,
    IncidentKind,
    IncidentStatus,
    Severity,
)
from incidents.services import incident_create, incident_translation_save, incident_update, incidents_transition

logger = logging.getLogger(__name__)

DETECTOR = SystemActor("sweep: disruption detection")
# An event received this long before the window began may still have occurred in it (a sender whose clock runs
# ahead of ours): the events are found by when they were received (indexed), then by when they occurred.
RECEIVED_SLACK = dt.timedelta(hours=1)
# The first key of the advisory locks detection takes, one per station (the second is the station's hash).
LOCK_NAMESPACE = 20130208
CANCELLED, DIVERTED, DELAYED = "cancelled", "diverted", "delayed"


@dataclass
class Disruption:
    """What the window shows at one station on one service day: the flights each kind of event hit."""

    station: str
    day: dt.date
    rule: DetectionRule
    flights: dict[str, set[int]] = field(default_factory=lambda: {CANCELLED: set(), DIVERTED: set(), DELAYED: set()})
    first_at: dt.datetime | None = None

    def note(self, kind: str, flight_id: int, at: dt.datetime) -> None:
        self.flights[kind].add(flight_id)
        self.first_at = at if self.first_at is None else min(self.first_at, at)

    @property
    def cancellations(self) -> int:
        """Departures cancelled or diverted (a diverted flight does not arrive where its passengers are going)."""
        return len(self.flights[CANCELLED] | self.flights[DIVERTED])

    @property
    def delayed(self) -> int:
        return len(self.flights[DELAYED] - self.flights[CANCELLED] - self.flights[DIVERTED])

    def severity(self) -> Severity | None:
        """Moderate at the rule's thresholds, major at twice, critical at four times; None below them."""
        ratio = max(self.cancellations / self.rule.min_cancellations, self.delayed / self.rule.min_delayed)
        for times, severity in ((4, Severity.CRITICAL), (2, Severity.MAJOR), (1, Severity.MODERATE)):
            if ratio >= times:
                return severity
        return None


def rule_for(rules: dict[str, DetectionRule], code: str) -> DetectionRule | None:
    """The station's own rule, else the default (station ""); None when the one that applies is switched off."""
    rule = rules.get(code, rules.get(""))
    return rule if rule is not None and rule.is_active else None


def _moment(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def event_disruption(
    *, status: str, fields: dict[str, Any], scheduled: dt.datetime | None, flight_delay: int, delay_minutes: int
) -> str | None:
    """What an applied event made of its flight: cancelled, diverted, delayed (by ``delay_minutes`` or more), or
    None. The delay is the event's own (its departure times against the schedule, else the delay it gave), as the
    feed derives it (incidents.flights.derived_delay); an event that says "delayed" and gives neither, the flight's."""
    if status == FlightStatus.CANCELLED:
        return CANCELLED
    if status == FlightStatus.DIVERTED or fields.get("diverted_to"):
        return DIVERTED
    schedule = _moment(fields.get("scheduled_departure_at")) or scheduled
    moment = _moment(fields.get("actual_departure_at")) or _moment(fields.get("estimated_departure_at"))
    given = fields.get("delay_minutes")
    delay: int | None = None
    if schedule is not None and moment is not None:
        delay = int((moment - schedule).total_seconds() // 60)
    elif isinstance(given, int) and not isinstance(given, bool):
        delay = given
    elif status == FlightStatus.DELAYED:
        delay = flight_delay
    return DELAYED if delay is not None and delay >= delay_minutes else None


def disruptions(*, now: dt.datetime, rules: dict[str, DetectionRule]) -> list[Disruption]:
    """The station-days whose window shows at least one disrupted departure, oldest day first."""
    active = [rule for rule in rules.values() if rule.is_active]
    if not active:
        return []
    longest = dt.timedelta(minutes=max(rule.window_minutes for rule in active))
    events = (
        FlightStatusEvent.objects.filter(
            outcome=EventOutcome.APPLIED,
            received_at__gte=now - longest - RECEIVED_SLACK,
            occurred_at__gte=now - longest,
            occurred_at__lte=now,
            flight__isnull=False,
        )
        .order_by()
        .values_list(
            "flight_id",
            "origin",
            "flight_date",
            "status",
            "fields",
            "occurred_at",
            "flight__scheduled_departure_at",
            "flight__delay_minutes",
        )
    )
    found: dict[tuple[str, dt.date], Disruption] = {}
    for flight_id, origin, day, status, fields, occurred_at, scheduled, flight_delay in events.iterator(2_000):
        rule = rule_for(rules, origin)
        # An applied event always has its date and time (only a rejected one lacks them).
        if rule is None or day is None or occurred_at is None:
            continue
        if occurred_at < now - dt.timedelta(minutes=rule.window_minutes):
            continue
        kind = event_disruption(status=status, fields=fields or {}, scheduled=scheduled, flight_delay=flight_delay,
                                delay_minutes=rule.delay_minutes)  # fmt: skip
        if kind is not None:
            found.setdefault((origin, day), Disruption(origin, day, rule)).note(kind, flight_id, occurred_at)
    return [found[key] for key in sorted(found, key=lambda key: (key[1], key[0]))]


def _lock_station(code: str) -> None:
    """Hold the station's detection lock until the transaction ends: two sweeps at once decide one at a time."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_NAMESPACE, code])


def live_incident(code: str, day: dt.date) -> Incident | None:
    """The oldest draft or active incident of the station that covers the day (one of its flights is of that day)."""
    candidates = (
        Incident.objects.filter(status__in=LIVE_STATUSES, stations__icontains=code)
        .filter(
            Exists(IncidentFlight.objects.filter(incident=OuterRef("pk"), flight__date=day))
            | Exists(AffectedCustomer.objects.filter(incident=OuterRef("pk"), flight_date=day))
        )
        .order_by("pk")
    )
    return next((incident for incident in candidates if code in incident.station_codes), None)


def _disrupted_flights(found: Disruption) -> list[Flight]:
    """Every departure of the station that day that is cancelled, diverted or delayed by the rule's delay or more
    now, whenever it became so, and those the window's events disrupted (even if one has recovered since: the
    incident then always covers its station and day)."""
    return list(
        Flight.objects.filter(date=found.day, origin=found.station)
        .filter(
            Q(status__in=(FlightStatus.CANCELLED, FlightStatus.DIVERTED))
            | ~Q(diverted_to="")
            | Q(delay_minutes__gte=found.rule.delay_minutes)
            | Q(pk__in=sorted(set().union(*found.flights.values())))
        )
        .order_by("carrier", "number", "date", "origin")
    )


def _counts(flights: Iterable[Flight]) -> DisruptionCounts:
    cancelled = diverted = delayed = 0
    for flight in flights:
        if flight.status == FlightStatus.CANCELLED:
            cancelled += 1
        elif flight.status == FlightStatus.DIVERTED or flight.diverted_to:
            diverted += 1
        else:
            delayed += 1
    return DisruptionCounts(cancelled=cancelled, diverted=diverted, delayed=delayed)


def _kind(counts: DisruptionCounts) -> str:
    if counts.diverted > max(counts.cancelled, counts.delayed):
        return IncidentKind.DIVERSION
    return IncidentKind.CANCELLATION if counts.cancelled >= counts.delayed else IncidentKind.DELAY


def _draft(found: Disruption, flights: list[Flight], severity: Severity, now: dt.datetime) -> Incident:
    counts = _counts(flights)
    since = found.first_at or now
    texts = draft_texts(code=found.station, counts=counts, since=since)
    interval = int(Incident._meta.get_field("update_interval_minutes").get_default())
    incident = incident_create(
        actor=DETECTOR,
        title=texts.title,
        kind=_kind(counts),
        cause=Cause.OTHER,
        within_control=False,
        severity=int(severity),
        stations=found.station,
        started_at=since,
        explanation=texts.explanation,
        next_update_due_at=now + dt.timedelta(minutes=interval),
    )
    for language, explanation in texts.translations.items():
        incident_translation_save(incident_id=incident.pk, language=language, actor=DETECTOR, explanation=explanation)
    return incident


def _open(incident: Incident, found: Disruption, severity: Severity, now: dt.datetime) -> bool:
    """Open a draft that reached the rule's auto-open severity; False (left a draft) when it cannot be opened."""
    if incident.next_update_due_at is None or incident.next_update_due_at <= now:
        # A promise already past would send "no news yet" the moment the incident opens.
        incident = incident_update(
            incident=incident,
            actor=DETECTOR,
            next_update_due_at=now + dt.timedelta(minutes=incident.update_interval_minutes),
        )
    rule = found.rule
    note = f"opened automatically: {severity.label.lower()} at {found.station}, the rule opens from "
    note += Severity(rule.auto_open_severity).label.lower() if rule.auto_open_severity else "never"
    try:
        incidents_transition(incident_ids=[incident.pk], target=IncidentStatus.OPEN, actor=DETECTOR, note=note)
    except DomainError as exc:
        logger.warning("detected incident %s left a draft: %s", incident.pk, exc)
        return False
    return True


def _alert_message(incident: Incident, *, opened: bool) -> str:
    if opened:
        head, then = "Disruption detected: incident opened automatically.", "Every passenger is being told now."
    else:
        head, then = "Disruption detected: incident drafted.", "Check it and open it to tell every passenger."
    return (
        f"{head} {incident.reference}: {incident.title}; "  # the title says since when
        f"{incident.affected_count:,} passengers on {len([f for f in incident.flights.split(',') if f.strip()])} "
        f"flights. {then}"
    )


def _alert(incident: Incident, *, created: bool, opened: bool, now: dt.datetime) -> int | None:
    """One open INCIDENT_DETECTED alert per incident: raised when detection drafts or opens it, reworded (and
    mailed again) when a draft it raised one for opens."""
    if not (created or opened):
        return None
    incident.refresh_from_db(fields=["affected_count", "flights", "title", "status"])
    message = _alert_message(incident, opened=opened)
    key = f"incident:{incident.pk}"
    updated = Alert.objects.filter(kind=AlertKind.INCIDENT_DETECTED, key=key, resolved_at__isnull=True)
    if updated.update(message=message, notified_at=None):
        return updated.values_list("pk", flat=True).first()
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                kind=AlertKind.INCIDENT_DETECTED, key=key, incident=incident, message=message, raised_at=now
            )
    except IntegrityError:
        return None  # raised at the same moment by another run
    return alert.pk


def _act(found: Disruption, now: dt.datetime) -> tuple[str, int | None]:
    """Extend, draft or open for one station-day, in one transaction under the station's lock."""
    with transaction.atomic():
        _lock_station(found.station)
        incident = live_incident(found.station, found.day)  # after the lock: sees what a run before us committed
        severity = found.severity()
        if incident is None and severity is None:
            return "below_threshold", None
        flights = _disrupted_flights(found)
        created = incident is None
        if incident is None:
            assert severity is not None
            incident = _draft(found, flights, severity, now)
        linked = set(IncidentFlight.objects.filter(incident=incident).values_list("flight_id", flat=True))
        new = [flight.pk for flight in flights if flight.pk not in linked]
        if new:
            incident_flights_add(incident_id=incident.pk, flight_ids=new, actor=DETECTOR, now=now)
        incident.refresh_from_db()
        if not created and severity is not None and severity > incident.severity:
            incident = incident_update(incident=incident, actor=DETECTOR, severity=int(severity))
        rule = found.rule
        opened = (
            incident.status == IncidentStatus.DRAFT
            and severity is not None
            and rule.auto_open_severity is not None
            and severity >= rule.auto_open_severity
            and _open(incident, found, severity, now)
        )
        alert_id = _alert(incident, created=created, opened=opened, now=now)
    outcome = "opened" if opened else "drafted" if created else "extended" if new else "unchanged"
    return outcome, alert_id


def _resolve_alerts(now: dt.datetime) -> int:
    """A detection alert is done once a coordinator has taken it on, or its incident is over."""
    return (
        Alert.objects.filter(kind=AlertKind.INCIDENT_DETECTED, resolved_at__isnull=True)
        .filter(
            Q(acknowledged_at__isnull=False) | Q(incident__status__in=(IncidentStatus.RESOLVED, IncidentStatus.CLOSED))
        )
        .update(resolved_at=now)
    )


def detection_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Draft, extend or open the incidents the stations' disruptions call for (the module's docstring)."""
    moment = now or timezone.now()
    counts = dict.fromkeys(("stations", "below_threshold", "drafted", "opened", "extended", "unchanged"), 0)
    counts["alerts_resolved"] = _resolve_alerts(moment)
    rules = {rule.station: rule for rule in DetectionRule.objects.all()}
    alert_ids: list[int] = []
    by_station: dict[str, int] = defaultdict(int)
    for found in disruptions(now=moment, rules=rules):
        by_station[found.station] += 1
        outcome, alert_id = _act(found, moment)
        counts[outcome] += 1
        if alert_id is not None:
            alert_ids.append(alert_id)
    counts["stations"] = len(by_station)
    # After the commits: the mail goes once the incident it names exists for everyone.
    counts["notified"] = alerts_notify(alert_ids=alert_ids) if alert_ids else 0
    return counts
