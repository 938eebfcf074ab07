"""Flights as facts, and the status feed that moves every passenger of a flight at once (issue 14, part 1)."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from care.core.actors import SystemActor
from care.core.api.tokens import api_token_create
from care.core.audit import AuditEntry
from incidents.flight_feed import BATCH_MAX, flight_events_apply
from incidents.flights import flights_for_affected
from incidents.models import AffectedCustomer, EventOutcome, Flight, FlightStatus, FlightStatusEvent, ImportSource
from incidents.services import affected_customer_save
from tests.clock import Clock
from tests.factories import AffectedCustomerFactory, CustomerFactory, IncidentFactory
from tests.sweep_harness import run_threads

pytestmark = pytest.mark.django_db

DAY = dt.date(2013, 2, 8)
EST = dt.timezone(dt.timedelta(hours=-5))
DEPARTURE = dt.datetime(2013, 2, 8, 14, 0, tzinfo=EST)
FEED = SystemActor("API token OCC")
NOW = dt.datetime(2013, 2, 8, 18, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _stopped(clock: Clock) -> Clock:
    clock.at(NOW)
    return clock


def event(n: int, *, minutes_after: int = 0, number: str = "1545", **fields: Any) -> dict[str, Any]:
    """Event ``n`` about UA ``number`` from Newark, ``minutes_after`` 12:00 EST."""
    base: dict[str, Any] = {
        "event_id": f"E{n}",
        "occurred_at": (dt.datetime(2013, 2, 8, 12, 0, tzinfo=EST) + dt.timedelta(minutes=minutes_after)).isoformat(),
        "carrier": "UA",
        "flight_number": number,
        "flight_date": "2013-02-08",
        "origin": "EWR",
        "status": "delayed",
    }
    return {**base, **fields}


def delayed(n: int, minutes: int, **more: Any) -> dict[str, Any]:
    return event(
        n,
        scheduled_departure_at=DEPARTURE.isoformat(),
        estimated_departure_at=(DEPARTURE + dt.timedelta(minutes=minutes)).isoformat(),
        **more,
    )


def apply(*events: dict[str, Any], source: str = "OCC") -> list[str]:
    return [result.outcome for result in flight_events_apply(events=list(events), source=source, actor=FEED)]


def passengers_on(number: str = "1545", count: int = 3, **impact: Any) -> list[AffectedCustomer]:
    incident = IncidentFactory.create()
    rows = [
        AffectedCustomerFactory.create(
            incident=incident, carrier="UA", flight_number=number, flight_date=DAY, origin="EWR",
            cancelled=False, **impact,
        )
        for _ in range(count)
    ]  # fmt: skip
    flights_for_affected(incident_ids=[incident.pk])
    return rows


def impacts(rows: list[AffectedCustomer]) -> list[tuple[int, bool, bool]]:
    return [
        (row.delay_minutes, row.cancelled, row.diverted)
        for row in AffectedCustomer.objects.filter(pk__in=[r.pk for r in rows]).order_by("pk")
    ]


def flight(number: str = "1545") -> Flight:
    return Flight.objects.get(carrier="UA", number=number, date=DAY, origin="EWR")


# --- flights from the affected rows ------------------------------------------------------------------------------
def test_the_migration_creates_one_flight_per_flight_of_the_existing_rows() -> None:
    incident, other = IncidentFactory.create(), IncidentFactory.create()
    rows = [
        AffectedCustomerFactory.create(incident=incident, flight_number="1", cancelled=True),
        AffectedCustomerFactory.create(incident=other, flight_number="1", cancelled=False, delay_minutes=30),
        AffectedCustomerFactory.create(incident=incident, flight_number="2", cancelled=False, delay_minutes=45),
        AffectedCustomerFactory.create(incident=incident, flight_number="2", cancelled=False, delay_minutes=95),
        AffectedCustomerFactory.create(incident=incident, flight_number="3", cancelled=False),
        AffectedCustomerFactory.create(incident=incident, flight_number="3", origin="JFK", cancelled=False),
    ]
    assert not Flight.objects.exists()
    migration = importlib.import_module("incidents.migrations.0012_flights")
    with connection.schema_editor(atomic=False) as editor:
        migration.flights_from_affected(django_apps, editor)
    by_key = {(f.number, f.origin): (f.status, f.delay_minutes) for f in Flight.objects.all()}
    assert by_key == {
        ("1", "EWR"): (FlightStatus.CANCELLED, 30),
        ("2", "EWR"): (FlightStatus.DELAYED, 95),
        ("3", "EWR"): (FlightStatus.SCHEDULED, 0),
        ("3", "JFK"): (FlightStatus.SCHEDULED, 0),
    }
    linked = dict(AffectedCustomer.objects.filter(pk__in=[r.pk for r in rows]).values_list("pk", "flight__origin"))
    assert len(linked) == 6
    assert None not in linked.values()
    assert rows[0].pk != rows[1].pk
    assert flight("1").passengers.count() == 2


def test_every_path_that_records_a_passenger_gives_them_their_flight() -> None:
    from incidents.ingest.services import import_job_create, import_job_run
    from tests.test_ingest import csv_bytes, row

    incident = IncidentFactory.create()
    job = import_job_create(
        incident=incident, source=ImportSource.COMMAND, upload=io.BytesIO(csv_bytes([row(1), row(2), row(901)]))
    )
    import_job_run(job_id=job.pk)
    assert AffectedCustomer.objects.filter(incident=incident, flight__isnull=True).count() == 0
    assert Flight.objects.filter(carrier="B6").count() == 2  # rows 1 and 901 share B6 101
    saved = affected_customer_save(
        affected_id=None, actor=FEED, incident=incident, customer=CustomerFactory.create(), carrier="UA",
        flight_number="7", flight_date=DAY, origin="EWR", destination="ORD",
    )  # fmt: skip
    assert saved.flight == flight("7")


# --- the feed ----------------------------------------------------------------------------------------------------
def test_an_event_moves_every_passenger_of_the_flight_at_once() -> None:
    rows = passengers_on()
    elsewhere = passengers_on("1546", count=1)
    assert apply(delayed(1, 200)) == [EventOutcome.APPLIED]
    assert impacts(rows) == [(200, False, False)] * 3
    assert impacts(elsewhere) == [(0, False, False)]
    assert (flight().status, flight().delay_minutes) == (FlightStatus.DELAYED, 200)
    assert apply(event(2, minutes_after=5, status="cancelled")) == [EventOutcome.APPLIED]
    assert impacts(rows) == [(200, True, False)] * 3


def test_a_big_batch_costs_a_few_statements_not_one_per_event(django_assert_max_num_queries: Any) -> None:
    for number in ("1", "2"):
        passengers_on(number, count=2)
    batch = [delayed(n, 90, number=str(n)) for n in range(1, 401)]
    with django_assert_max_num_queries(15):
        outcomes = apply(*batch)
    assert outcomes == [EventOutcome.APPLIED] * 400
    assert Flight.objects.count() == 400  # flights the feed names are created: detection will need them
    assert AffectedCustomer.objects.filter(delay_minutes=90).count() == 4


def test_a_repeated_event_changes_nothing_twice(clock: Clock) -> None:
    rows = passengers_on()
    assert apply(delayed(1, 70)) == [EventOutcome.APPLIED]
    stamp = flight().updated_at
    entries = AuditEntry.objects.count()
    clock.shift(dt.timedelta(minutes=10))
    assert apply(delayed(1, 70), delayed(1, 70)) == [EventOutcome.DUPLICATE, EventOutcome.DUPLICATE]
    assert flight().updated_at == stamp
    assert AuditEntry.objects.count() == entries
    assert FlightStatusEvent.objects.filter(event_id="E1").count() == 1
    assert impacts(rows) == [(70, False, False)] * 3


def test_an_older_event_after_a_newer_one_changes_nothing() -> None:
    rows = passengers_on()
    assert apply(event(2, minutes_after=60, status="cancelled")) == [EventOutcome.APPLIED]
    assert apply(delayed(1, 45)) == [EventOutcome.STALE]
    assert flight().status == FlightStatus.CANCELLED
    assert impacts(rows) == [(0, True, False)] * 3
    stale = FlightStatusEvent.objects.get(event_id="E1")
    assert (stale.outcome, stale.flight_id) == (EventOutcome.STALE, flight().pk)
    assert "older than event E2" in stale.reason
    # In one batch, out of order: the newest wins, the older is stale.
    assert apply(event(4, minutes_after=90, status="departed"), delayed(3, 45, minutes_after=80)) == [
        EventOutcome.APPLIED,
        EventOutcome.APPLIED,  # E3 (13:20) is newer than E2 (13:00): applied, before E4 (13:30)
    ]
    assert flight().status == FlightStatus.DEPARTED
    assert flight().last_event_id == "E4"


def test_a_batch_with_bad_events_applies_the_good_ones_and_reports_each_bad_one() -> None:
    rows = passengers_on()
    results = flight_events_apply(
        events=[
            delayed(1, 130),
            event(2, origin="XXX"),
            event(3, status="boarding"),
            event(4, occurred_at="2013-02-08T12:00:00"),
            {k: v for k, v in event(5).items() if k != "flight_number"},
            event(6, gate="C71"),
            "not an event",
        ],
        source="OCC",
        actor=FEED,
    )
    assert [r.outcome for r in results] == [EventOutcome.APPLIED] + [EventOutcome.REJECTED] * 6
    reasons = [r.reason for r in results[1:]]
    assert "unknown airport 'XXX' in origin" in reasons[0]
    assert reasons[1].startswith("status must be one of scheduled")
    assert "occurred_at has no UTC offset" in reasons[2]
    assert reasons[3] == "flight_number is missing"
    assert reasons[4] == "unknown fields: gate"
    assert "JSON object" in reasons[5]
    assert impacts(rows) == [(130, False, False)] * 3
    assert FlightStatusEvent.objects.filter(outcome=EventOutcome.REJECTED).count() == 6


def test_the_audit_entry_says_from_what_to_what_by_which_event() -> None:
    passengers_on()
    apply(delayed(1, 70))
    apply(event(2, minutes_after=30, status="cancelled"))
    entry = AuditEntry.objects.filter(action="flight.status_change").order_by("-pk").first()
    assert entry is not None
    assert (entry.target_type, entry.target_id, entry.actor_label) == ("incidents.flight", str(flight().pk), FEED.label)
    assert entry.changes == {"status": ["delayed", "cancelled"]}
    assert entry.details["event_id"] == "E2"
    assert entry.details["passengers_moved"] == 3
    first = AuditEntry.objects.filter(action="flight.status_change").order_by("pk").first()
    assert first is not None
    assert first.changes["delay_minutes"] == [0, 70]


def test_a_delay_growing_from_70_to_200_marks_the_passengers_worsened_once(clock: Clock) -> None:
    rows = passengers_on(delay_minutes=70)  # the file said 70 minutes
    assert apply(delayed(1, 70)) == [EventOutcome.APPLIED]
    marks = lambda: set(  # noqa: E731
        AffectedCustomer.objects.filter(pk__in=[r.pk for r in rows]).values_list("impact_changed_at", flat=True)
    )
    assert marks() == {None}  # the feed confirms what the file said: nothing worse
    worse_at = clock.shift(dt.timedelta(minutes=20))
    apply(delayed(2, 200, minutes_after=20))
    assert marks() == {worse_at}
    clock.shift(dt.timedelta(minutes=20))
    apply(delayed(3, 210, minutes_after=40), delayed(2, 200, minutes_after=20))  # no threshold crossed; a repeat
    assert marks() == {worse_at}
    clock.shift(dt.timedelta(minutes=20))
    apply(delayed(4, 100, minutes_after=60))  # better is not worse
    assert marks() == {worse_at}
    assert impacts(rows) == [(100, False, False)] * 3
    diverted_at = clock.shift(dt.timedelta(minutes=20))
    apply(event(5, minutes_after=80, status="diverted", diverted_to="BDL"))
    assert marks() == {diverted_at}
    assert impacts(rows) == [(100, False, True)] * 3


def test_the_command_applies_a_file_of_events_in_batches(tmp_path: Path) -> None:
    rows = passengers_on()
    path = tmp_path / "events.jsonl"
    lines = [json.dumps(delayed(n, 60 + n, minutes_after=n)) for n in range(1, 6)] + ["{oops", ""]
    path.write_text("\n".join(lines) + "\n")
    out, err = io.StringIO(), io.StringIO()
    call_command("apply_flight_events", str(path), "--batch", "2", stdout=out, stderr=err)
    assert "6 events: applied 5, stale 0, duplicate 0, rejected 1." in out.getvalue()
    assert "not JSON" in err.getvalue()
    assert impacts(rows) == [(65, False, False)] * 3
    out = io.StringIO()
    call_command("apply_flight_events", str(path), stdout=out, stderr=io.StringIO())
    assert "applied 0, stale 0, duplicate 5, rejected 1." in out.getvalue()


# --- the endpoint ------------------------------------------------------------------------------------------------
def _post(client: Client, body: Any, **headers: str) -> Any:
    return client.post(
        reverse("v1:flight-events"), data=json.dumps(body), content_type="application/json", headers=headers
    )


def _bearer(*scopes: str) -> dict[str, str]:
    _, raw = api_token_create(name="OCC", scopes=list(scopes))
    return {"Authorization": f"Bearer {raw}"}


def test_the_operations_token_posts_events_and_reads_each_outcome(client: Client) -> None:
    rows = passengers_on()
    response = _post(client, {"events": [delayed(1, 190), event(2, status="late")]}, **_bearer("flights"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["counts"] == {"applied": 1, "stale": 0, "duplicate": 0, "rejected": 1}
    assert body["results"][0] == {"index": 0, "event_id": "E1", "outcome": "applied", "reason": ""}
    assert body["results"][1]["outcome"] == "rejected"
    assert impacts(rows) == [(190, False, False)] * 3
    assert FlightStatusEvent.objects.get(event_id="E1").source == "API token OCC"


def test_who_may_post_events(rep_client: Client, coordinator_client: Client) -> None:
    passengers_on()
    anonymous = Client()
    assert _post(anonymous, [delayed(1, 90)]).status_code == 401
    assert _post(anonymous, [delayed(1, 90)], **_bearer("read", "ingest")).status_code == 403
    assert _post(rep_client, [delayed(1, 90)]).status_code == 403
    assert not FlightStatusEvent.objects.exists()
    assert _post(coordinator_client, [delayed(1, 90)]).status_code == 200


def test_the_size_limit_and_empty_bodies(client: Client) -> None:
    headers = _bearer("flights")
    too_many = [{"event_id": str(n)} for n in range(BATCH_MAX + 1)]
    assert _post(client, too_many, **headers).status_code == 400
    assert "At most 10000 events" in _post(client, too_many, **headers).json()["errors"]["events"][0]
    huge = client.post(
        reverse("v1:flight-events"), data=b"[" + b" " * (10 << 20) + b"]", content_type="application/json",
        headers=headers,
    )  # fmt: skip
    assert huge.status_code == 413
    assert _post(client, [], **headers).status_code == 400
    assert _post(client, {"rows": [delayed(1, 90)]}, **headers).status_code == 400
    assert not FlightStatusEvent.objects.exists()


# --- two feeds at once -------------------------------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_feeds_at_once_end_in_the_state_one_feed_reaches(clock: Clock) -> None:
    numbers = [str(n) for n in range(1, 41)]
    for number in numbers:
        passengers_on(number, count=2)
    # Each flight: delayed 70, then 200, then cancelled; both feeds send all of it, in opposite orders, and a third
    # sender covers the same flights from the other end (its own ids), so the locks are taken from both sides.
    events = [
        e
        for number in numbers
        for e in (
            delayed(int(number) * 10 + 1, 70, number=number),
            delayed(int(number) * 10 + 2, 200, number=number, minutes_after=10),
            event(int(number) * 10 + 3, number=number, minutes_after=20, status="cancelled"),
        )
    ]
    other = [delayed(n, 30, number=number, event_id=f"X{n}") for n, number in enumerate(reversed(numbers))]

    def feed(batch: list[dict[str, Any]], source: str) -> Callable[[], None]:
        def work() -> None:
            flight_events_apply(events=batch, source=source, actor=FEED)

        return work

    errors = run_threads([feed(events, "OCC"), feed(list(reversed(events)), "OCC"), feed(other, "backup")])
    assert errors == []
    assert set(Flight.objects.values_list("status", "delay_minutes", "last_event_source")) == {
        (FlightStatus.CANCELLED, 200, "OCC")
    }
    assert FlightStatusEvent.objects.filter(source="OCC", outcome__in=("applied", "stale")).count() == len(events)
    assert set(AffectedCustomer.objects.values_list("delay_minutes", "cancelled")) == {(200, True)}
    assert AffectedCustomer.objects.filter(impact_changed_at__isnull=True).count() == 0
