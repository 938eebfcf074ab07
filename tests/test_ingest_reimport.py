"""A later file about passengers already recorded updates their impact, audited; a fed flight keeps its status
(issue 14): on the COPY path (PostgreSQL) and the ORM path alike."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from care.core.actors import SystemActor
from care.core.api.tokens import api_token_create
from care.core.audit import AuditEntry
from incidents.flight_feed import flight_events_apply
from incidents.ingest.services import import_job_create, import_job_run
from incidents.models import AffectedCustomer, Flight, ImportJob, ImportSource, ImportStatus, Incident
from tests.clock import Clock
from tests.factories import IncidentFactory
from tests.test_ingest import METHODS, csv_bytes, rejections, row, run

pytestmark = pytest.mark.django_db

FIRST_IMPORT = dt.datetime(2013, 2, 8, 17, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2013, 2, 8, 19, 30, tzinfo=dt.UTC)
IMPACT = ("delay_minutes", "cancelled", "missed_connection", "overnight_stay", "diverted", "downgraded")


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def passenger(n: int, **changes: str) -> dict[str, str]:
    """Customer ``n`` on B6 101 out of JFK, 70 minutes late, nothing else, unless ``changes`` say otherwise."""
    base = {"flight_number": "101", "delay_minutes": "70", "cancelled": "false"}
    return row(n, **{**base, **changes})


def recorded(ref: str, incident: Incident) -> AffectedCustomer:
    return AffectedCustomer.objects.get(incident=incident, customer__external_ref=ref)


def impact(affected: AffectedCustomer) -> dict[str, Any]:
    affected.refresh_from_db()
    return {name: getattr(affected, name) for name in IMPACT}


def counts(job: ImportJob) -> tuple[int, int, int, int]:
    return (job.affected_created, job.affected_updated, job.affected_existing, job.affected_flight_kept)


def impact_entries(incident: Incident | None = None) -> list[AuditEntry]:
    entries = AuditEntry.objects.filter(action="affected.impact_change").order_by("pk")
    return list(entries if incident is None else entries.filter(details__incident_id=incident.pk))


def listed(entry: AuditEntry) -> list[tuple[int, dict[str, list[Any]], bool]]:
    """The changed rows an entry lists: (affected id, {field: [from, to]}, worsened)."""
    return [(row["affected_id"], row["changes"], row["worsened"]) for row in entry.details["rows"]]


def first_import(clock: Clock, method: str, *rows: dict[str, str]) -> Incident:
    clock.at(FIRST_IMPORT)
    incident = IncidentFactory.create()
    job = run(incident, csv_bytes(list(rows)), method=method)
    assert job.affected_created == len(rows)
    clock.at(LATER)
    return incident


def feed(*events: dict[str, Any]) -> None:
    """The operations system reports on B6 101 out of JFK on 8 February (an event per dict, its fields given)."""
    base = {"carrier": "B6", "flight_number": "101", "flight_date": "2013-02-08", "origin": "JFK"}
    outcomes = flight_events_apply(
        events=[{**base, **event} for event in events], source="OCC", actor=SystemActor("API token OCC")
    )
    assert {result.outcome for result in outcomes} == {"applied"}


@pytest.mark.parametrize("method", METHODS)
def test_the_same_file_twice_updates_nothing(method: str, clock: Clock) -> None:
    rows = [passenger(1), passenger(2, cancelled="true", delay_minutes="0"), passenger(3, overnight_stay="true")]
    incident = first_import(clock, method, *rows)
    before = {ref: impact(recorded(ref, incident)) for ref in ("C000001", "C000002", "C000003")}
    again = run(incident, csv_bytes(rows), method=method)
    assert counts(again) == (0, 0, 3, 0)
    assert {ref: impact(recorded(ref, incident)) for ref in before} == before
    assert not impact_entries()
    assert not AffectedCustomer.objects.filter(impact_changed_at__isnull=False).exists()


@pytest.mark.parametrize("method", METHODS)
def test_a_longer_delay_updates_the_row_stamps_it_and_audits_it(method: str, clock: Clock) -> None:
    incident = first_import(clock, method, passenger(1), passenger(2), passenger(3), passenger(4))
    later = [
        passenger(1, delay_minutes="200"),  # past two and three hours: worse
        passenger(2, delay_minutes="100"),  # longer, but no threshold crossed: changed, not worse
        passenger(3, cancelled="true"),  # now cancelled: worse
        passenger(4),  # as it was
    ]
    job = run(incident, csv_bytes(later), method=method)
    assert job.status == ImportStatus.DONE
    assert counts(job) == (0, 3, 1, 0)
    one, two, three, four = (recorded(f"C00000{n}", incident) for n in range(1, 5))
    assert impact(one)["delay_minutes"] == 200
    assert (impact(two)["delay_minutes"], impact(three)["cancelled"]) == (100, True)
    assert [affected.impact_changed_at for affected in (one, two, three, four)] == [LATER, None, LATER, None]
    [entry] = impact_entries(incident)  # one for the job, not one per row
    assert (entry.target_type, entry.target_id, entry.at) == ("incidents.importjob", str(job.pk), LATER)
    assert listed(entry) == [
        (one.pk, {"delay_minutes": [70, 200]}, True),
        (two.pk, {"delay_minutes": [70, 100]}, False),
        (three.pk, {"cancelled": [False, True]}, True),
    ]
    assert {key: entry.details[key] for key in ("count", "worsened", "flight_status_kept", "fields")} == {
        "count": 3,
        "worsened": 2,
        "flight_status_kept": 0,
        "fields": {"cancelled": 1, "delay_minutes": 2},
    }
    run_entry = AuditEntry.objects.get(action="import_job.run", target_id=str(job.pk))
    assert entry.actor_label == run_entry.actor_label
    assert (run_entry.details["affected_updated"], run_entry.details["affected_existing"]) == (3, 1)


@pytest.mark.parametrize("method", METHODS)
def test_a_shorter_delay_updates_the_row_without_the_stamp(method: str, clock: Clock) -> None:
    incident = first_import(clock, method, passenger(1, delay_minutes="200", overnight_stay="true"))
    job = run(incident, csv_bytes([passenger(1, delay_minutes="70")]), method=method)
    assert counts(job) == (0, 1, 0, 0)
    affected = recorded("C000001", incident)
    assert (impact(affected)["delay_minutes"], impact(affected)["overnight_stay"]) == (70, False)
    assert affected.impact_changed_at is None
    [entry] = impact_entries(incident)
    assert listed(entry) == [(affected.pk, {"delay_minutes": [200, 70], "overnight_stay": [True, False]}, False)]
    assert entry.details["worsened"] == 0


@pytest.mark.parametrize("method", METHODS)
def test_a_fed_flight_keeps_its_delay_and_cancellation_but_the_file_sets_the_overnight_stay(
    method: str, clock: Clock
) -> None:
    incident = first_import(clock, method, passenger(1, delay_minutes="30"), passenger(2, delay_minutes="30"))
    feed({"event_id": "E1", "occurred_at": "2013-02-08T18:00:00+00:00", "status": "cancelled", "delay_minutes": 150})
    one, two = recorded("C000001", incident), recorded("C000002", incident)
    assert (impact(one)["delay_minutes"], impact(one)["cancelled"]) == (150, True)  # the feed moved them
    stamped_by_the_feed = one.impact_changed_at
    clock.at(LATER + dt.timedelta(minutes=5))
    later = [
        passenger(1, delay_minutes="10", cancelled="false", overnight_stay="true"),  # the file is behind the feed
        passenger(2, delay_minutes="150", cancelled="true"),  # the file agrees with the feed
    ]
    job = run(incident, csv_bytes(later), method=method)
    assert counts(job) == (0, 1, 1, 1)
    assert impact(one) == {
        "delay_minutes": 150,
        "cancelled": True,
        "missed_connection": False,
        "overnight_stay": True,
        "diverted": False,
        "downgraded": False,
    }
    assert impact(two)["overnight_stay"] is False
    assert one.impact_changed_at == stamped_by_the_feed  # an overnight stay is the passenger's own fact, no stamp
    [entry] = impact_entries(incident)
    assert listed(entry) == [(one.pk, {"overnight_stay": [False, True]}, False)]
    assert entry.details["rows"][0]["flight_status_kept"] is True
    assert entry.details["flight_status_kept"] == 1
    # The file alone, saying the same again: nothing changes, and the flight kept its status once more.
    again = run(incident, csv_bytes(later), method=method)
    assert counts(again) == (0, 0, 2, 1)
    assert len(impact_entries(incident)) == 1


@pytest.mark.parametrize("method", METHODS)
def test_a_new_passenger_on_a_fed_flight_takes_the_flights_status(method: str, clock: Clock) -> None:
    incident = first_import(clock, method, passenger(1), row(2, flight_number="202", delay_minutes="40"))
    feed({"event_id": "E1", "occurred_at": "2013-02-08T18:00:00+00:00", "status": "delayed", "delay_minutes": 190})
    newcomers = [
        passenger(3, delay_minutes="0", missed_connection="true"),  # on the fed flight: the feed's delay
        row(4, flight_number="202", delay_minutes="15"),  # on a known flight no event has named: the file's delay
    ]
    job = run(incident, csv_bytes(newcomers), method=method)
    assert counts(job) == (2, 0, 0, 1)
    three, four = recorded("C000003", incident), recorded("C000004", incident)
    assert (impact(three)["delay_minutes"], impact(three)["cancelled"], impact(three)["missed_connection"]) == (
        190,
        False,
        True,
    )
    assert impact(four)["delay_minutes"] == 15
    fed = Flight.objects.get(carrier="B6", number="101", origin="JFK")
    assert (three.flight_id, fed.delay_minutes) == (fed.pk, 190)
    assert three.impact_changed_at is None  # a new passenger is told by the first notice, not an update
    assert not impact_entries(incident)


@pytest.mark.parametrize("method", METHODS)
def test_a_rejected_or_repeated_row_changes_nothing(method: str, clock: Clock) -> None:
    incident = first_import(clock, method, passenger(1), passenger(2))
    later = [
        passenger(1, delay_minutes="200", email="not-an-address@"),  # rejected
        passenger(2),  # as it was
        passenger(2, delay_minutes="300"),  # a repeat of row 3: rejected, the first row counts
    ]
    job = run(incident, csv_bytes(later), method=method)
    assert [number for number, _ in rejections(job)] == [2, 4]
    assert counts(job) == (0, 0, 1, 0)
    assert [impact(recorded(ref, incident))["delay_minutes"] for ref in ("C000001", "C000002")] == [70, 70]
    refused = run(incident, b"customer_ref,name\nC000001,Someone\n", method=method)
    assert refused.status == ImportStatus.FAILED
    assert not impact_entries()
    assert not AffectedCustomer.objects.filter(impact_changed_at__isnull=False).exists()


@pytest.mark.parametrize("method", METHODS)
def test_an_import_that_stops_in_its_merge_leaves_the_rows_and_the_log_as_they_were(
    method: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All or nothing: the update, its stamps and its audit entries roll back with the rest of the merge."""
    incident = first_import(clock, method, passenger(1), passenger(2))

    def broken(**_kwargs: Any) -> None:
        raise RuntimeError("the link to the flights failed")

    monkeypatch.setattr(f"incidents.ingest.{'pg' if method == 'copy' else 'orm'}.flights_for_affected", broken)
    with pytest.raises(RuntimeError):
        run(incident, csv_bytes([passenger(1, delay_minutes="200"), passenger(5)]), method=method)
    assert impact(recorded("C000001", incident))["delay_minutes"] == 70
    assert recorded("C000001", incident).impact_changed_at is None
    assert not AffectedCustomer.objects.filter(customer__external_ref="C000005").exists()
    assert not impact_entries()


@pytest.mark.postgres
def test_the_copy_and_orm_paths_update_alike(clock: Clock) -> None:
    first = [passenger(n, delay_minutes=str(20 * n)) for n in range(1, 13)]
    later = [
        passenger(n, delay_minutes=str(300 - 20 * n), diverted="true" if n % 4 == 0 else "false") for n in range(1, 13)
    ]
    later += [passenger(20, delay_minutes="45")]
    results = {}
    for method in ("copy", "orm"):
        incident = first_import(clock, method, *first)
        job = run(incident, csv_bytes(later), method=method)
        results[method] = (
            counts(job),
            sorted(
                AffectedCustomer.objects.filter(incident=incident).values_list(
                    "customer__external_ref", *IMPACT, "impact_changed_at"
                )
            ),
            [
                (json.dumps(entry.details["fields"]), [(changes, worse) for _, changes, worse in listed(entry)])
                for entry in impact_entries(incident)
            ],
        )
    assert results["copy"] == results["orm"]
    assert results["copy"][0] == (1, 12, 0, 0)


def test_the_counts_are_shown_in_the_admin_the_api_and_the_commands_output(
    coordinator_client: Client, client: Client, clock: Clock, tmp_path: Path
) -> None:
    incident = first_import(clock, "orm", passenger(1), passenger(2), passenger(3))
    path = tmp_path / "later.csv"
    path.write_bytes(csv_bytes([passenger(1, delay_minutes="200"), passenger(2), passenger(3), passenger(4)]))
    out = io.StringIO()
    call_command("import_affected", str(path), "--incident", incident.reference, stdout=out, stderr=io.StringIO())
    assert "1 affected customers added, 1 already recorded and updated by the file (2 unchanged;" in out.getvalue()
    job = ImportJob.objects.filter(incident=incident).latest("pk")
    page = coordinator_client.get(f"/admin/incidents/importjob/{job.pk}/change/")
    assert page.status_code == 200
    assert b"already recorded, impact updated" in page.content.lower()
    assert b"flight&#x27;s status kept" in page.content.lower()
    listing = coordinator_client.get("/admin/incidents/importjob/")
    assert b"already recorded, impact updated" in listing.content.lower()
    _, raw = api_token_create(name="OCC", scopes=["read"])
    response = client.get(f"/api/v1/imports/{job.pk}/", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200
    body = response.json()
    assert (body["affected_created"], body["affected_updated"], body["affected_existing"]) == (1, 1, 2)
    assert body["affected_flight_kept"] == 0


def test_an_import_job_created_by_a_person_audits_the_changes_in_their_name(clock: Clock, coordinator: Any) -> None:
    incident = first_import(clock, "orm", passenger(1))
    job = import_job_create(
        incident=incident,
        source=ImportSource.ADMIN,
        upload=io.BytesIO(csv_bytes([passenger(1, delay_minutes="130")])),
        created_by=coordinator,
    )
    done = import_job_run(job_id=job.pk, method="orm")
    assert done.affected_updated == 1
    [entry] = impact_entries(incident)
    assert entry.actor_id == coordinator.pk
    assert listed(entry) == [(recorded("C000001", incident).pk, {"delay_minutes": [70, 130]}, True)]


@pytest.mark.parametrize("method", METHODS)
def test_the_jobs_entry_lists_a_bounded_number_of_rows_and_counts_them_all(
    method: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("incidents.ingest.impact.AUDIT_ROWS", 2)
    incident = first_import(clock, method, *(passenger(n) for n in range(1, 6)))
    job = run(incident, csv_bytes([passenger(n, delay_minutes="125") for n in range(1, 6)]), method=method)
    assert job.affected_updated == 5
    [entry] = impact_entries(incident)
    first_two = sorted(AffectedCustomer.objects.filter(incident=incident).values_list("pk", flat=True))[:2]
    assert [affected_id for affected_id, _, _ in listed(entry)] == first_two
    assert (entry.details["count"], entry.details["worsened"], entry.details["fields"]) == (5, 5, {"delay_minutes": 5})
