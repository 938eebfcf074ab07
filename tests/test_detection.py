"""Detection: cancellations and delays at a station open an incident before customers call (issue 14).

Events go through the status feed (``flight_events_apply``) at a controlled clock; passengers come from the
manifest (``bookings_record``); the sweep is ``care.operations.detection.detection_sweep``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from care.core.actors import SystemActor
from care.core.audit import AuditEntry
from care.correspondence.reader_claims import reader_claim_reasons
from care.operations.detection import DETECTOR, detection_sweep
from care.operations.detection_texts import DisruptionCounts, explanation_in
from incidents.bookings import bookings_record
from incidents.flight_feed import flight_events_apply
from incidents.models import (
    AffectedCustomer,
    Alert,
    AlertKind,
    Cause,
    DetectionRule,
    Incident,
    IncidentFlight,
    IncidentKind,
    IncidentStatus,
    IncidentTranslation,
    Severity,
    SweepRun,
)
from tests.clock import Clock
from tests.sweep_harness import eager_celery, run_threads

pytestmark = pytest.mark.django_db

EST = dt.timezone(dt.timedelta(hours=-5))
START = dt.datetime(2013, 2, 8, 8, 0, tzinfo=EST)  # 08:00 in Newark
MINUTE = dt.timedelta(minutes=1)
OCC = SystemActor("API token OCC")
PASSENGERS = 3  # booked on each flight


@pytest.fixture(autouse=True)
def _newark_morning(clock: Clock) -> None:
    clock.at(START)


def rule(**fields: Any) -> DetectionRule:
    """The default rule (every station), as the tests want it: the shipped thresholds, never auto-open."""
    values = {"is_active": True, "window_minutes": 60, "min_cancellations": 3, "min_delayed": 6, "delay_minutes": 60,
              "auto_open_severity": None, **fields}  # fmt: skip
    found, _ = DetectionRule.objects.update_or_create(station="", defaults=values)
    return found


def booked(*numbers: int, origin: str = "EWR") -> None:
    """PASSENGERS customers on each UA flight ``numbers`` from ``origin`` on 8 Feb 2013."""
    rows = [
        {
            "customer_ref": f"PAX-{origin}-{number}-{n}", "name": f"Passenger {n} of {number}",
            "email": f"pax{n}.{number}.{origin.lower()}@example.com", "carrier": "UA", "flight_number": str(number),
            "flight_date": "2013-02-08", "origin": origin, "destination": "ORD",
        }
        for number in numbers
        for n in range(PASSENGERS)
    ]  # fmt: skip
    bookings_record(rows=rows, source="reservations", actor=SystemActor("API token reservations"))


_serial = iter(range(1, 10**6))


def cancel(number: int, *, at: int, origin: str = "EWR") -> dict[str, Any]:
    """Flight UA ``number`` cancelled ``at`` minutes after 08:00 in Newark."""
    return {
        "event_id": f"E{next(_serial)}", "occurred_at": (START + at * MINUTE).isoformat(), "carrier": "UA",
        "flight_number": str(number), "flight_date": "2013-02-08", "origin": origin, "status": "cancelled",
    }  # fmt: skip


def delay(number: int, minutes: int, *, at: int) -> dict[str, Any]:
    departure = dt.datetime(2013, 2, 8, 10, 0, tzinfo=EST)
    return {
        **cancel(number, at=at),
        "status": "delayed",
        "scheduled_departure_at": departure.isoformat(),
        "estimated_departure_at": (departure + minutes * MINUTE).isoformat(),
    }


def feed(*events: dict[str, Any]) -> None:
    flight_events_apply(events=list(events), source="OCC", actor=OCC)


def sweep(clock: Clock, *, at: int) -> dict[str, int]:
    return detection_sweep(now=clock.at(START + at * MINUTE))


def detected() -> list[Incident]:
    return list(Incident.objects.order_by("pk"))


# --- thresholds --------------------------------------------------------------------------------------------------
def test_below_the_thresholds_nothing_happens(clock: Clock) -> None:
    rule()
    booked(1, 2, 11, 12, 13, 14, 15)
    feed(cancel(1, at=0), cancel(2, at=5), *(delay(n, 90, at=10) for n in (11, 12, 13, 14)), delay(15, 45, at=10))
    counts = sweep(clock, at=20)
    assert counts["below_threshold"] == 1
    assert not Incident.objects.exists()
    assert not Alert.objects.exists()


def test_at_the_threshold_one_draft_incident_with_the_flights_and_their_passengers(clock: Clock) -> None:
    rule()
    booked(1, 2, 3, 4)
    feed(cancel(1, at=0), cancel(2, at=10), cancel(3, at=20), delay(4, 30, at=20))
    counts = sweep(clock, at=25)
    assert counts["drafted"] == 1
    (incident,) = detected()
    assert (incident.status, incident.kind, incident.cause, incident.within_control, incident.severity) == (
        IncidentStatus.DRAFT, IncidentKind.CANCELLATION, Cause.OTHER, False, Severity.MODERATE,
    )  # fmt: skip
    assert incident.stations == "EWR"
    assert incident.title == "Newark (EWR): disruption detected 8 Feb 2013, 08:00 EST (3 flights cancelled)"
    assert incident.started_at == START  # the first disrupting event
    assert incident.next_update_due_at == START + 25 * MINUTE + dt.timedelta(minutes=incident.update_interval_minutes)
    assert incident.explanation == (
        "Flights from Newark are being cancelled this morning. "
        "We are confirming the cause and will tell you as soon as we know."
    )
    assert set(IncidentTranslation.objects.filter(incident=incident).values_list("language", flat=True)) == {
        "es", "fr", "de",
    }  # fmt: skip
    assert incident.flights == "UA 1, UA 2, UA 3"  # UA 4 is 30 minutes late: not disrupted by this rule
    rows = AffectedCustomer.objects.filter(incident=incident)
    assert rows.count() == incident.affected_count == 3 * PASSENGERS
    assert set(rows.values_list("cancelled", "delay_minutes", "flight__number")) == {
        (True, 0, "1"), (True, 0, "2"), (True, 0, "3"),
    }  # fmt: skip
    assert IncidentFlight.objects.filter(incident=incident).count() == 3
    (alert,) = Alert.objects.filter(kind=AlertKind.INCIDENT_DETECTED)
    assert (alert.incident_id, alert.key) == (incident.pk, f"incident:{incident.pk}")
    assert alert.message.startswith("Disruption detected: incident drafted.")
    assert alert.notified_at is not None
    assert [message.subject for message in mail.outbox] == ["[Care alert] Disruption detected"]
    created = AuditEntry.objects.get(action="incident.create")
    assert (created.actor_label, created.target_id) == (DETECTOR.label, str(incident.pk))
    assert AuditEntry.objects.get(action="incident.flights_add").details["passengers_added"] == 3 * PASSENGERS


def test_delays_alone_draft_a_delay_incident(clock: Clock) -> None:
    rule()
    booked(*range(11, 17))
    feed(*(delay(n, 75, at=n) for n in range(11, 17)))
    sweep(clock, at=30)
    (incident,) = detected()
    assert (incident.kind, incident.title) == (
        IncidentKind.DELAY,
        "Newark (EWR): disruption detected 8 Feb 2013, 08:11 EST (6 flights delayed)",
    )
    assert set(AffectedCustomer.objects.values_list("delay_minutes", "cancelled")) == {(75, False)}


def test_a_disruption_above_the_auto_open_severity_opens_the_incident(clock: Clock) -> None:
    rule(auto_open_severity=Severity.MAJOR)
    booked(*range(1, 7))
    feed(*(cancel(n, at=n) for n in range(1, 7)))  # twice the threshold: major
    counts = sweep(clock, at=10)
    assert counts["opened"] == 1
    (incident,) = detected()
    assert (incident.status, incident.severity) == (IncidentStatus.OPEN, Severity.MAJOR)
    assert incident.opened_at == START + 10 * MINUTE
    assert incident.status_changes.filter(to_status=IncidentStatus.OPEN).get().actor_label == DETECTOR.label
    (alert,) = Alert.objects.filter(kind=AlertKind.INCIDENT_DETECTED)
    assert alert.message.startswith("Disruption detected: incident opened automatically.")


def test_a_second_run_changes_nothing(clock: Clock) -> None:
    rule(auto_open_severity=Severity.CRITICAL)
    booked(1, 2, 3)
    feed(cancel(1, at=0), cancel(2, at=1), cancel(3, at=2))
    sweep(clock, at=5)
    entries, notified = AuditEntry.objects.count(), len(mail.outbox)
    counts = sweep(clock, at=6)
    assert counts["unchanged"] == 1
    assert len(detected()) == 1
    assert AffectedCustomer.objects.count() == 3 * PASSENGERS
    assert AuditEntry.objects.count() == entries
    assert Alert.objects.count() == 1
    assert len(mail.outbox) == notified


def test_a_later_disrupted_flight_extends_the_same_incident(clock: Clock) -> None:
    rule()
    booked(1, 2, 3, 4, 5)
    feed(cancel(1, at=0), cancel(2, at=1), cancel(3, at=2))
    sweep(clock, at=5)
    (incident,) = detected()
    clock.at(START + 30 * MINUTE)
    feed(cancel(4, at=30))
    assert sweep(clock, at=31)["extended"] == 1
    # Hours later, one more cancellation: below the thresholds, but the station's day has its incident.
    clock.at(START + 180 * MINUTE)
    feed(cancel(5, at=180))
    assert sweep(clock, at=181)["extended"] == 1
    assert detected() == [incident]
    incident.refresh_from_db()
    assert incident.flights == "UA 1, UA 2, UA 3, UA 4, UA 5"
    assert incident.affected_count == 5 * PASSENGERS
    assert AuditEntry.objects.filter(action="incident.flights_add", target_id=str(incident.pk)).count() == 3
    assert Alert.objects.count() == 1  # the incident's alert, not one per extension


def test_a_draft_that_grows_past_the_auto_open_severity_opens(clock: Clock) -> None:
    rule(auto_open_severity=Severity.MAJOR)
    booked(*range(1, 7))
    feed(cancel(1, at=0), cancel(2, at=1), cancel(3, at=2))
    sweep(clock, at=5)
    (incident,) = detected()
    assert (incident.status, incident.severity) == (IncidentStatus.DRAFT, Severity.MODERATE)
    clock.at(START + 20 * MINUTE)
    feed(cancel(4, at=20), cancel(5, at=21), cancel(6, at=22))
    assert sweep(clock, at=25)["opened"] == 1
    incident.refresh_from_db()
    assert (incident.status, incident.severity, incident.affected_count) == (
        IncidentStatus.OPEN, Severity.MAJOR, 6 * PASSENGERS,
    )  # fmt: skip
    (alert,) = Alert.objects.filter(kind=AlertKind.INCIDENT_DETECTED, resolved_at__isnull=True)
    assert alert.message.startswith("Disruption detected: incident opened automatically.")
    assert len(mail.outbox) == 2  # drafted, then opened


def test_an_open_incident_of_the_station_and_day_is_extended_not_duplicated(clock: Clock) -> None:
    rule()
    booked(1, 2, 3, origin="EWR")
    booked(1, 2, 3, origin="JFK")
    feed(*(cancel(n, at=n) for n in (1, 2, 3)), *(cancel(n, at=n, origin="JFK") for n in (1, 2, 3)))
    sweep(clock, at=5)
    by_station = {incident.stations: incident for incident in detected()}
    assert set(by_station) == {"EWR", "JFK"}  # one per station
    assert set(AffectedCustomer.objects.filter(incident=by_station["JFK"]).values_list("origin", flat=True)) == {"JFK"}


def test_a_station_whose_own_rule_is_off_is_not_watched(clock: Clock) -> None:
    rule()
    DetectionRule.objects.create(station="EWR", is_active=False)
    booked(1, 2, 3)
    feed(cancel(1, at=0), cancel(2, at=1), cancel(3, at=2))
    sweep(clock, at=5)
    assert not Incident.objects.exists()


def test_the_feed_sets_detection_off_by_itself(clock: Clock, django_capture_on_commit_callbacks: Any) -> None:
    """No sweep called: the feed publishes detection once its events are committed, as a worker would run it."""
    rule()
    booked(1, 2, 3)
    clock.at(START + 5 * MINUTE)
    with eager_celery(), django_capture_on_commit_callbacks(execute=True):
        feed(cancel(1, at=0), cancel(2, at=1), cancel(3, at=2))
    (incident,) = detected()
    assert incident.affected_count == 3 * PASSENGERS
    assert SweepRun.objects.get(name="detection").counts["drafted"] == 1


def test_the_explanation_states_facts_and_claims_nothing_about_the_reader() -> None:
    for counts in (DisruptionCounts(3, 0, 0), DisruptionCounts(0, 0, 6), DisruptionCounts(4, 1, 9)):
        for language in ("en", "es", "fr", "de"):
            for part in ("morning", "afternoon", "evening", "night"):
                text = explanation_in(language, city="Newark", counts=counts, part=part)
                assert "Newark" in text
                # Read as a letter to a passenger who was neither cancelled nor delayed: nothing untrue to them.
                assert reader_claim_reasons(text, {"delay_minutes": 0}, language=language) == [], text
    both = explanation_in("de", city="Newark", counts=DisruptionCounts(3, 0, 6), part="morning")
    assert both.startswith("Flüge ab Newark fallen heute Morgen aus oder verspäten sich.")


# --- two sweeps at once ------------------------------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_make_one_incident(clock: Clock) -> None:
    rule(auto_open_severity=Severity.MAJOR)
    booked(*range(1, 7))
    feed(*(cancel(n, at=n) for n in range(1, 7)))
    moment = clock.at(START + 10 * MINUTE)

    def run() -> Callable[[], None]:
        def work() -> None:
            detection_sweep(now=moment)

        return work

    errors = run_threads([run() for _ in range(4)])
    assert errors == []
    (incident,) = detected()
    assert incident.status == IncidentStatus.OPEN
    assert AffectedCustomer.objects.filter(incident=incident).count() == 6 * PASSENGERS
    assert AuditEntry.objects.filter(action="incident.create").count() == 1
    assert Alert.objects.filter(kind=AlertKind.INCIDENT_DETECTED).count() == 1


# --- the rules in the workbench ----------------------------------------------------------------------------------
def _form(found: DetectionRule, **changes: Any) -> dict[str, Any]:
    data = {
        "station": found.station, "window_minutes": found.window_minutes,
        "min_cancellations": found.min_cancellations, "min_delayed": found.min_delayed,
        "delay_minutes": found.delay_minutes, "auto_open_severity": found.auto_open_severity or "",
        **({"is_active": "on"} if found.is_active else {}), **changes,
    }  # fmt: skip
    return {key: value for key, value in data.items() if value is not None}


def test_a_coordinator_edits_a_rule_and_a_rep_may_not(coordinator_client: Client, rep_client: Client) -> None:
    found = rule(auto_open_severity=Severity.MAJOR)
    url = reverse("admin:incidents_detectionrule_change", args=[found.pk])
    assert rep_client.post(url, _form(found, min_cancellations=10)).status_code == 403
    refused = coordinator_client.post(url, _form(found, min_cancellations=0))
    assert refused.status_code == 200  # the form again, with the error
    assert "Ensure this value is greater than or equal to 1" in refused.content.decode()
    found.refresh_from_db()
    assert found.min_cancellations == 3
    response = coordinator_client.post(url, _form(found, min_cancellations=10, auto_open_severity=""))
    assert response.status_code == 302, response.content.decode()[:2000]
    found.refresh_from_db()
    assert (found.min_cancellations, found.auto_open_severity) == (10, None)
    entry = AuditEntry.objects.get(action="detection_rule.update")
    assert entry.changes["min_cancellations"] == [3, 10]
    assert entry.actor_label == "coordinator"
    added = coordinator_client.post(reverse("admin:incidents_detectionrule_add"), _form(found, station="JFK"))
    assert added.status_code == 302
    assert DetectionRule.objects.get(station="JFK").min_cancellations == 10


def test_a_coordinator_confirms_a_detected_draft_open_and_the_alert_is_done_once_taken_on(
    clock: Clock, coordinator_client: Client, coordinator: Any
) -> None:
    from care.operations.alerts import alert_acknowledge

    rule()
    booked(1, 2, 3)
    feed(cancel(1, at=0), cancel(2, at=1), cancel(3, at=2))
    sweep(clock, at=5)
    (incident,) = detected()
    response = coordinator_client.post(
        reverse("admin:incidents_incident_changelist"), {"action": "open_incidents", "_selected_action": [incident.pk]}
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.OPEN  # detection's draft meets what opening asks for
    (alert,) = Alert.objects.filter(kind=AlertKind.INCIDENT_DETECTED)
    assert sweep(clock, at=6)["alerts_resolved"] == 0
    alert_acknowledge(alert_ids=[alert.pk], actor=coordinator)
    assert sweep(clock, at=7)["alerts_resolved"] == 1
    alert.refresh_from_db()
    assert alert.resolved_at == START + 7 * MINUTE
