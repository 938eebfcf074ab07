"""Bookings, the manifest: who is booked on which flight, known before anything goes wrong (issue 14, detection)."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from care.core.actors import SystemActor
from care.core.api.tokens import api_token_create
from care.core.audit import AuditEntry
from care.customers.models import Customer
from incidents.bookings import BATCH_MAX, EXISTING, REJECTED, bookings_record
from incidents.flight_feed import flight_events_apply
from incidents.flights import flights_for_affected
from incidents.models import AffectedCustomer, Booking, Flight, FlightStatus, Incident, IncidentStatus
from tests.clock import Clock
from tests.factories import AffectedCustomerFactory, CustomerFactory, IncidentFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2013, 2, 8)
EST = dt.timezone(dt.timedelta(hours=-5))
RESERVATIONS = SystemActor("API token reservations")
NOW = dt.datetime(2013, 2, 8, 13, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _stopped(clock: Clock) -> Clock:
    clock.at(NOW)
    return clock


def booking(n: int, *, number: str = "1545", **fields: Any) -> dict[str, Any]:
    """Customer ``n`` booked on UA ``number`` from Newark to Chicago on 8 Feb 2013."""
    base: dict[str, Any] = {
        "customer_ref": f"PAX-{n:05d}",
        "name": f"Passenger {n}",
        "email": f"pax{n}@example.com",
        "carrier": "UA",
        "flight_number": number,
        "flight_date": "2013-02-08",
        "origin": "EWR",
        "destination": "ORD",
        "booking_reference": f"BK{n:04d}",
    }
    return {**base, **fields}


def record(*rows: Any) -> list[str]:
    return [
        result.outcome for result in bookings_record(rows=list(rows), source="reservations", actor=RESERVATIONS).results
    ]


def flight(number: str = "1545") -> Flight:
    return Flight.objects.get(carrier="UA", number=number, date=DAY, origin="EWR")


def feed(*events: dict[str, Any]) -> None:
    flight_events_apply(events=list(events), source="OCC", actor=SystemActor("API token OCC"))


def status_event(n: int, status: str, *, number: str = "1545", **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"E{n}",
        "occurred_at": dt.datetime(2013, 2, 8, 7, n, tzinfo=EST).isoformat(),
        "carrier": "UA",
        "flight_number": number,
        "flight_date": "2013-02-08",
        "origin": "EWR",
        "status": status,
        **fields,
    }


def incident_on(number: str = "1545", *, status: str = IncidentStatus.OPEN) -> Incident:
    """An incident with one passenger already recorded on UA ``number`` (an import's row)."""
    incident = IncidentFactory.create(status=status)
    AffectedCustomerFactory.create(incident=incident, carrier="UA", flight_number=number, flight_date=DAY,
                                   origin="EWR", cancelled=False)  # fmt: skip
    flights_for_affected(incident_ids=[incident.pk])
    return incident


# --- recording ---------------------------------------------------------------------------------------------------
def test_a_bad_row_is_rejected_with_its_reasons_and_the_good_ones_are_recorded() -> None:
    result = bookings_record(
        rows=[
            booking(1),
            booking(2, email="", phone=""),
            booking(3, origin="XXX", flight_date="8/2/2013"),
            booking(4, delay_minutes=90),  # an impact is the feed's to say, not the manifest's
            "not a booking",  # type: ignore[list-item]  # what a careless sender posts
            booking(6, number="2", scheduled_departure_at="2013-02-08T15:45"),
        ],
        source="reservations",
        actor=RESERVATIONS,
    )
    assert [r.outcome for r in result.results] == ["created", REJECTED, REJECTED, REJECTED, REJECTED, "created"]
    reasons = [r.reason for r in result.results]
    assert reasons[1] == "email and phone are both missing"
    assert "unknown station code 'XXX' in origin" in reasons[2]
    assert "flight_date must be a date like 2013-02-08" in reasons[2]
    assert reasons[3] == "unknown fields: delay_minutes"
    assert "object of field: value" in reasons[4]
    assert result.counts == {
        "created": 2, "existing": 0, "rejected": 4, "customers_created": 2, "customers_updated": 0,
        "flights_created": 2, "affected_created": 0,
    }  # fmt: skip
    assert set(Booking.objects.values_list("customer__external_ref", "flight__number", "booking_reference")) == {
        ("PAX-00001", "1545", "BK0001"),
        ("PAX-00006", "2", "BK0006"),
    }
    # The flight the booking names is created with its route and schedule (in Newark's time without an offset).
    assert (flight("2").destination, flight("2").scheduled_departure_at) == (
        "ORD",
        dt.datetime(2013, 2, 8, 15, 45, tzinfo=EST),
    )
    entry = AuditEntry.objects.get(action="bookings.record")
    assert (entry.actor_label, entry.details["created"], entry.details["rejected"]) == (RESERVATIONS.label, 2, 4)


def test_the_same_bookings_twice_change_nothing(clock: Clock) -> None:
    assert record(booking(1), booking(2), booking(1)) == ["created", "created", EXISTING]
    stamp = Customer.objects.get(external_ref="PAX-00001").updated_at
    clock.shift(dt.timedelta(minutes=5))
    result = bookings_record(rows=[booking(1), booking(2)], source="reservations", actor=RESERVATIONS)
    assert [(r.outcome, r.reason) for r in result.results] == [(EXISTING, "already recorded")] * 2
    assert result.counts["customers_updated"] == result.counts["flights_created"] == 0
    assert Booking.objects.count() == 2
    assert Customer.objects.get(external_ref="PAX-00001").updated_at == stamp
    assert AuditEntry.objects.filter(action="bookings.record").count() == 2  # one per call, with its counts


def test_a_customer_is_upserted_as_the_import_does() -> None:
    known = CustomerFactory.create(external_ref="PAX-00001", name="Old Name", phone="+12125550100", language="fr")
    assert record(booking(1, phone="", language="")) == ["created"]
    known.refresh_from_db()
    # The name is the row's; a blank optional cell keeps what is stored.
    assert (known.name, known.email, known.phone, known.language) == (
        "Passenger 1", "pax1@example.com", "+12125550100", "fr",
    )  # fmt: skip


def test_a_flight_that_exists_keeps_its_state_and_takes_only_its_missing_destination() -> None:
    feed(status_event(1, "cancelled"))
    assert (flight().status, flight().destination) == (FlightStatus.CANCELLED, "")
    assert record(booking(1, scheduled_departure="2013-02-08T15:45")) == ["created"]
    assert (flight().status, flight().destination, flight().scheduled_departure_at) == (
        FlightStatus.CANCELLED,
        "ORD",
        None,
    )
    assert Flight.objects.count() == 1


# On PostgreSQL, as in production: SQLite builds limited to 999 bound parameters split the customers' INSERT into
# dozens of statements whatever the code does.
@pytest.mark.postgres
def test_thousands_of_bookings_cost_a_few_statements(django_assert_max_num_queries: Any) -> None:
    rows = [booking(n, number=str(1 + n % 40)) for n in range(1, 2001)]
    with django_assert_max_num_queries(25):
        outcomes = record(*rows)
    assert outcomes == ["created"] * 2000
    assert (Booking.objects.count(), Flight.objects.count()) == (2000, 40)


# --- a new passenger on a known flight ---------------------------------------------------------------------------
def test_a_booking_on_a_flight_already_in_an_open_incident_becomes_a_passenger_with_the_flights_status() -> None:
    incident = incident_on("1545")
    feed(status_event(1, "delayed", delay_minutes=200), status_event(2, "cancelled"))
    result = bookings_record(rows=[booking(1), booking(2, number="7")], source="reservations", actor=RESERVATIONS)
    assert result.counts["affected_created"] == 1
    joined = AffectedCustomer.objects.get(incident=incident, customer__external_ref="PAX-00001")
    assert (joined.cancelled, joined.delay_minutes, joined.diverted) == (True, 200, False)
    assert (joined.flight, joined.booking_reference, joined.destination) == (flight("1545"), "BK0001", "ORD")
    assert joined.created_at == NOW  # the first-notice sweep tells them from now
    assert not AffectedCustomer.objects.filter(customer__external_ref="PAX-00002").exists()  # UA 7 is in no incident
    incident.refresh_from_db()
    assert incident.affected_count == 2
    # Recording the same booking again adds nothing.
    assert bookings_record(rows=[booking(1)], source="reservations", actor=RESERVATIONS).counts["affected_created"] == 0
    assert AffectedCustomer.objects.filter(incident=incident).count() == 2


def test_a_delayed_flight_gives_its_new_passenger_the_delay() -> None:
    incident = incident_on("1545", status=IncidentStatus.DRAFT)
    feed(status_event(1, "delayed", delay_minutes=130))
    record(booking(1))
    joined = AffectedCustomer.objects.get(incident=incident, customer__external_ref="PAX-00001")
    assert (joined.cancelled, joined.delay_minutes) == (False, 130)


def test_a_resolved_incident_takes_no_new_passenger() -> None:
    incident = incident_on("1545", status=IncidentStatus.RESOLVED)
    record(booking(1))
    assert AffectedCustomer.objects.filter(incident=incident).count() == 1


# --- the command -------------------------------------------------------------------------------------------------
def test_the_command_records_a_csv_file_and_a_json_file(tmp_path: Path) -> None:
    rows = [booking(1), booking(2, email="not-an-email")]
    columns = list(rows[0])
    path = tmp_path / "manifest.csv"
    path.write_text(",".join(columns) + "\n" + "\n".join(",".join(str(r[c]) for c in columns) for r in rows) + "\n")
    out, err = io.StringIO(), io.StringIO()
    call_command("record_bookings", str(path), "--batch", "1", stdout=out, stderr=err)
    assert "2 bookings: created 1, existing 0, rejected 1" in out.getvalue()
    assert "row 3: email is malformed" in err.getvalue()  # the file's line: the header is line 1
    as_json = tmp_path / "manifest.json"
    as_json.write_text(json.dumps({"bookings": [booking(1), booking(3)]}))
    out = io.StringIO()
    call_command("record_bookings", str(as_json), stdout=out, stderr=io.StringIO())
    assert "2 bookings: created 1, existing 1, rejected 0" in out.getvalue()
    assert Booking.objects.count() == 2


# --- the endpoint ------------------------------------------------------------------------------------------------
def _post(client: Client, body: Any, **headers: str) -> Any:
    return client.post(
        reverse("v1:flight-bookings"), data=json.dumps(body), content_type="application/json", headers=headers
    )


def _bearer(*scopes: str) -> dict[str, str]:
    _, raw = api_token_create(name="reservations", scopes=list(scopes))
    return {"Authorization": f"Bearer {raw}"}


def test_the_operations_token_posts_bookings_and_reads_each_outcome(client: Client) -> None:
    response = _post(client, {"bookings": [booking(1), booking(2, carrier="")]}, **_bearer("flights"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["counts"]["created"], body["counts"]["rejected"]) == (1, 1)
    assert body["results"][0] == {"index": 0, "outcome": "created", "reason": ""}
    assert body["results"][1]["reason"] == "carrier is missing"
    assert AuditEntry.objects.get(action="bookings.record").details["source"] == "API token reservations"


def test_who_may_post_bookings(rep_client: Client, coordinator_client: Client) -> None:
    anonymous = Client()
    assert _post(anonymous, [booking(1)]).status_code == 401
    assert _post(anonymous, [booking(1)], **_bearer("read", "ingest")).status_code == 403
    assert _post(rep_client, [booking(1)]).status_code == 403
    assert not Booking.objects.exists()
    assert _post(coordinator_client, [booking(1)]).status_code == 200
    assert Booking.objects.count() == 1


def test_the_size_limits_and_empty_bodies(client: Client) -> None:
    headers = _bearer("flights")
    too_many = [{"customer_ref": str(n)} for n in range(BATCH_MAX + 1)]
    refused = _post(client, too_many, **headers)
    assert refused.status_code == 400
    assert "At most 10000 bookings" in refused.json()["errors"]["bookings"][0]
    huge = client.post(
        reverse("v1:flight-bookings"), data=b"[" + b" " * (10 << 20) + b"]", content_type="application/json",
        headers=headers,
    )  # fmt: skip
    assert huge.status_code == 413
    assert _post(client, [], **headers).status_code == 400
    assert _post(client, {"rows": [booking(1)]}, **headers).status_code == 400
    assert not Booking.objects.exists()


def test_the_manifest_in_the_workbench_is_read_only_and_fast(
    coordinator_client: Client, django_assert_max_num_queries: Any
) -> None:
    record(*(booking(n, number=str(n % 5 + 1)) for n in range(1, 41)))
    url = reverse("admin:incidents_booking_changelist")
    with django_assert_max_num_queries(12):
        page = coordinator_client.get(url)
    assert page.status_code == 200
    assert "Passenger 40" in page.content.decode()  # newest first
    found = coordinator_client.get(url, {"q": "BK0007"})
    assert found.status_code == 200
    assert found.context["cl"].result_count == 1
    assert coordinator_client.get(reverse("admin:incidents_booking_add")).status_code == 403
    assert coordinator_client.get(reverse("admin:incidents_detectionrule_changelist")).status_code == 200
