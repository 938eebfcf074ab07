"""Ingest of affected customers: bad rows reported, good rows in, reruns idempotent, every path the same."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from care.core.api.tokens import api_token_create
from care.customers.models import Customer
from incidents.ingest.format import COLUMNS
from incidents.ingest.services import import_job_create, import_job_run, rejection_report_lines
from incidents.models import (
    AffectedCustomer,
    Alert,
    AlertKind,
    ImportJob,
    ImportRejection,
    ImportSource,
    ImportStatus,
    Incident,
    IncidentStatus,
)
from tests.clock import Clock
from tests.factories import CustomerFactory, IncidentFactory

pytestmark = pytest.mark.django_db
SAMPLE = Path(__file__).resolve().parent.parent / "incidents" / "ingest" / "sample_affected.csv"
# The COPY path needs PostgreSQL; the ORM path runs everywhere (it is SQLite's).
METHODS = (pytest.param("copy", marks=pytest.mark.postgres), "orm")


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def row(n: int, **changes: str) -> dict[str, str]:
    base = {
        "customer_ref": f"C{n:06d}",
        "name": f"Passenger {n}",
        "email": f"p{n}@example.com",
        "phone": f"+1212555{n % 10000:04d}",
        "carrier": "B6",
        "flight_number": str(100 + n % 900),
        "flight_date": "2013-02-08",
        "origin": "JFK",
        "destination": "BOS",
        "delay_minutes": str(n % 300),
        "cancelled": "false",
    }
    base.update(changes)
    return base


def csv_bytes(rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def run(incident: Incident, data: bytes, *, method: str | None = None, file_format: str = "csv") -> ImportJob:
    job = import_job_create(
        incident=incident, source=ImportSource.COMMAND, file_format=file_format, upload=io.BytesIO(data)
    )
    return import_job_run(job_id=job.pk, method=method)


def rejections(job: ImportJob) -> list[tuple[int, str]]:
    return list(ImportRejection.objects.filter(job=job).order_by("row_number").values_list("row_number", "reason"))


def outcome(incident: Incident) -> set[tuple[Any, ...]]:
    return set(
        AffectedCustomer.objects.filter(incident=incident).values_list(
            "customer__external_ref",
            "customer__name",
            "customer__preferred_name",
            "customer__email",
            "customer__phone",
            "carrier",
            "flight_number",
            "flight_date",
            "origin",
            "destination",
            "delay_minutes",
            "cancelled",
            "scheduled_departure_at",
        )
    )


BAD_ROWS = [
    ({"email": "", "phone": ""}, "email and phone are both missing"),
    ({"email": "not-an-address@"}, "email is malformed"),
    ({"phone": "555-0100"}, "phone is not in international format"),
    ({"origin": "XXX"}, "unknown station code 'XXX' in origin"),
    ({"destination": "Boston"}, "unknown station code 'BOSTON' in destination"),
    ({"delay_minutes": "-5"}, "impossible delay of -5 minutes"),
    ({"delay_minutes": "20000"}, "impossible delay of 20000 minutes"),
    ({"delay_minutes": "9" * 40}, "impossible delay of a huge number of minutes"),
    ({"delay_minutes": "two hours"}, "delay_minutes must be a whole number"),
    ({"flight_date": "08/02/2013"}, "flight_date must be a date"),
    ({"carrier": "JetBlue"}, "carrier must be a two-character IATA airline code"),
    ({"cancelled": "perhaps"}, "cancelled must be true or false"),
    ({"language": "klingon"}, "language must be one of"),
    ({"time_zone": "Mars/Olympus"}, "time_zone is not an IANA time zone"),
    ({"customer_ref": ""}, "customer_ref is missing"),
    ({"name": ""}, "name is missing"),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("change", "reason"), BAD_ROWS, ids=[reason for _, reason in BAD_ROWS])
def test_a_bad_row_is_rejected_with_its_row_number_and_the_good_rows_go_in(
    method: str, change: dict[str, str], reason: str
) -> None:
    incident = IncidentFactory.create()
    job = run(incident, csv_bytes([row(1), row(2, **change), row(3)]), method=method)
    assert job.status == ImportStatus.DONE
    [(number, why)] = rejections(job)
    assert number == 3  # header is line 1, so the second customer is line 3
    assert reason in why
    assert job.rows_done == 3
    assert job.rows_rejected == 1
    assert job.affected_created == 2
    assert sorted(
        AffectedCustomer.objects.filter(incident=incident).values_list("customer__external_ref", flat=True)
    ) == [
        "C000001",
        "C000003",
    ]
    incident.refresh_from_db()
    assert incident.affected_count == 2


@pytest.mark.parametrize("method", METHODS)
def test_a_duplicate_row_in_the_same_file_is_rejected_naming_the_first(method: str) -> None:
    incident = IncidentFactory.create()
    job = run(incident, csv_bytes([row(1), row(2), row(1, delay_minutes="5")]), method=method)
    assert rejections(job) == [
        (4, "duplicate: customer_ref C000001 on flight B6 101 of 2013-02-08 is already on row 2")
    ]
    assert job.affected_created == 2
    assert AffectedCustomer.objects.get(incident=incident, customer__external_ref="C000001").delay_minutes == 1


@pytest.mark.parametrize("method", METHODS)
def test_a_customer_on_two_flights_keeps_both_legs_and_is_one_customer(method: str) -> None:
    """Issue 18: rebooked from a cancelled flight onto one that was delayed too, the passenger has two rows; the
    second was rejected as a duplicate and their second flight lost. Their details come from their first row."""
    incident = IncidentFactory.create()
    first = row(1, cancelled="true", delay_minutes="0")
    second = row(1, flight_number="777", delay_minutes="95", name="Someone Else", email="other@example.com")
    job = run(incident, csv_bytes([first, row(2), second, row(1, cancelled="true")]), method=method)
    assert job.status == ImportStatus.DONE
    assert rejections(job) == [
        (5, "duplicate: customer_ref C000001 on flight B6 101 of 2013-02-08 is already on row 2")
    ]
    assert (job.affected_created, job.customers_created, job.customers_updated) == (3, 2, 0)
    legs = AffectedCustomer.objects.filter(incident=incident, customer__external_ref="C000001").order_by(
        "flight_number"
    )
    assert [(leg.flight_number, leg.cancelled, leg.delay_minutes) for leg in legs] == [
        ("101", True, 0),
        ("777", False, 95),
    ]
    customer = Customer.objects.get(external_ref="C000001")
    assert (customer.name, customer.email) == ("Passenger 1", "p1@example.com")
    incident.refresh_from_db()
    assert incident.affected_count == 3
    again = run(incident, csv_bytes([first, second]), method=method)
    assert (again.affected_created, again.affected_existing, again.customers_updated) == (0, 2, 0)


@pytest.mark.parametrize("method", METHODS)
def test_a_row_with_every_problem_lists_every_reason(method: str) -> None:
    incident = IncidentFactory.create()
    job = run(incident, csv_bytes([row(1, email="", phone="", origin="ZZZ", delay_minutes="-1")]), method=method)
    [(_, why)] = rejections(job)
    assert why.split("; ") == [
        "email and phone are both missing",
        "unknown station code 'ZZZ' in origin",
        "impossible delay of -1 minutes (allowed: 0 to 10080)",
    ]


@pytest.mark.parametrize("method", METHODS)
def test_a_rerun_of_the_same_file_creates_nothing_twice(method: str) -> None:
    incident = IncidentFactory.create()
    data = csv_bytes([row(n) for n in range(1, 21)] + [row(99, email="", phone="")])
    first = run(incident, data, method=method)
    second = run(incident, data, method=method)
    assert (first.customers_created, first.affected_created, first.rows_rejected) == (20, 20, 1)
    assert (second.customers_created, second.customers_updated, second.affected_created) == (0, 0, 0)
    assert second.affected_existing == 20
    assert rejections(second) == rejections(first)
    assert Customer.objects.count() == 20
    assert AffectedCustomer.objects.filter(incident=incident).count() == 20


@pytest.mark.parametrize("method", METHODS)
def test_an_existing_customer_is_updated_by_reference_and_blank_cells_keep_what_is_stored(method: str) -> None:
    customer = CustomerFactory.create(external_ref="C000001", phone="+12125550000", language="fr")
    incident = IncidentFactory.create()
    job = run(incident, csv_bytes([row(1, name="New Name", phone="", email="new@example.com")]), method=method)
    customer.refresh_from_db()
    assert (customer.name, customer.email, customer.phone, customer.language) == (
        "New Name",
        "new@example.com",
        "+12125550000",
        "fr",
    )
    assert (job.customers_created, job.customers_updated, job.affected_created) == (0, 1, 1)


@pytest.mark.postgres
def test_the_copy_and_orm_paths_give_the_same_result() -> None:
    rows = [row(n) for n in range(1, 40)]
    rows[0] = row(1, name="Ann \\ Lee\twith a tab", preferred_name="N\nL", email='"odd\\ one"@example.com')
    rows[5] = row(6, email="bad@")
    rows[9] = row(2)
    rows[12] = row(13, origin="QQQ", delay_minutes="-3")
    rows.append(row(50, scheduled_departure="2013-02-08T18:30"))
    data = csv_bytes(rows)
    results = {}
    for method in ("copy", "orm"):
        incident = IncidentFactory.create()
        job = run(incident, data, method=method)
        results[method] = (
            rejections(job),
            outcome(incident),
            job.rows_done,
            job.rows_rejected,
            job.affected_created,
            job.affected_existing,
        )
        incident.refresh_from_db()
        assert incident.affected_count == job.affected_created
    assert results["copy"] == results["orm"]
    odd = Customer.objects.get(external_ref="C000001")  # free text with a tab, newline and backslash survives COPY
    assert (odd.name, odd.preferred_name, odd.email) == ("Ann \\ Lee\twith a tab", "N\nL", '"odd\\ one"@example.com')
    departure = AffectedCustomer.objects.filter(customer__external_ref="C000050").first()
    assert departure is not None
    assert departure.scheduled_departure_at is not None
    assert departure.scheduled_departure_at.isoformat() == "2013-02-08T23:30:00+00:00"  # 18:30 in New York


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"customer_ref,name\nC1,Ann\n", "missing required column(s) carrier"),
        (csv_bytes([row(1)], (*COLUMNS, "seat")), "unknown column(s) seat"),
        (b"", "The file is empty"),
        ("customer_ref,name\nC1,Ann\xe9\n".encode("latin-1"), "not UTF-8"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole_and_changes_nothing(data: bytes, message: str) -> None:
    incident = IncidentFactory.create()
    job = run(incident, data)
    assert job.status == ImportStatus.FAILED
    assert message in job.error
    assert not AffectedCustomer.objects.exists()
    assert not Customer.objects.exists()


def test_a_line_with_the_wrong_number_of_cells_is_one_bad_row() -> None:
    incident = IncidentFactory.create()
    data = csv_bytes([row(1), row(2)]) + b"C9,only two\n"
    job = run(incident, data)
    assert rejections(job) == [(4, f"has 2 cells where the header has {len(COLUMNS)}")]
    assert job.affected_created == 2


def test_json_lines_are_read_like_csv() -> None:
    incident = IncidentFactory.create()
    lines = [json.dumps(row(1) | {"delay_minutes": 30, "cancelled": True}), "not json", json.dumps([1, 2])]
    lines.append(json.dumps(row(4) | {"seat": "12A"}))
    job = run(incident, "\n".join(lines).encode(), file_format="jsonl")
    assert [number for number, _ in rejections(job)] == [2, 3, 4]
    affected = AffectedCustomer.objects.get(incident=incident)
    assert (affected.delay_minutes, affected.cancelled) == (30, True)


def test_the_rejection_report_is_csv_with_row_reason_and_the_columns() -> None:
    incident = IncidentFactory.create()
    job = run(incident, csv_bytes([row(1), row(2, email="", phone=""), row(1)]))
    report = list(csv.DictReader(io.StringIO("".join(rejection_report_lines(job)))))
    assert [(line["row"], line["customer_ref"]) for line in report] == [("3", "C000002"), ("4", "C000001")]
    assert report[0]["reason"] == "email and phone are both missing"
    assert report[1]["cancelled"] == "false"


def test_a_closed_incident_takes_no_import() -> None:
    from care.core.errors import DomainError

    incident = IncidentFactory.create(status=IncidentStatus.CLOSED)
    with pytest.raises(DomainError, match="closed"):
        import_job_create(incident=incident, source=ImportSource.COMMAND, upload=io.BytesIO(csv_bytes([row(1)])))
    assert not ImportJob.objects.exists()


def test_a_job_already_done_is_not_run_again() -> None:
    incident = IncidentFactory.create()
    job = run(incident, csv_bytes([row(1)]))
    again = import_job_run(job_id=job.pk)
    assert again.status == ImportStatus.DONE
    assert again.finished_at == job.finished_at


def test_a_finished_import_does_not_keep_its_file_but_a_refused_one_does(settings: Any) -> None:
    incident = IncidentFactory.create()
    done = run(incident, csv_bytes([row(1)]))
    refused = run(incident, b"customer_ref,name\nC1,Ann\n")
    assert not ImportJob.objects.get(pk=done.pk).file
    kept = ImportJob.objects.get(pk=refused.pk).file
    assert kept
    stored = [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]
    assert [path.name for path in stored] == [Path(str(kept.name)).name]


def test_the_sample_file_imports_cleanly() -> None:
    incident = IncidentFactory.create()
    job = run(incident, SAMPLE.read_bytes())
    assert job.status == ImportStatus.DONE
    assert job.rows_rejected == 0
    assert job.affected_created == len(SAMPLE.read_text().splitlines()) - 1


# --- the three entry points ----------------------------------------------------------------
def _mixed_file() -> bytes:
    rows = [row(n) for n in range(1, 31)]
    rows[3] = row(4, email="", phone="")
    rows[7] = row(8, destination="XYZ")
    rows[11] = row(12, delay_minutes="-10")
    rows[15] = row(16, email="a@@b")
    rows.append(row(5))
    return csv_bytes(rows)


def test_admin_upload_api_and_command_give_the_same_result(
    coordinator_client: Client, client: Client, tmp_path: Path
) -> None:
    data = _mixed_file()
    path = tmp_path / "affected.csv"
    path.write_bytes(data)
    via_admin, via_api, via_command = IncidentFactory.create_batch(3)

    response = coordinator_client.post(
        "/admin/incidents/importjob/add/",
        {"incident": via_admin.pk, "file_format": "csv", "upload": io.BytesIO(data)},
        format="multipart",
    )
    assert response.status_code == 302, response.content[:2000]
    _, raw = api_token_create(name="OCC", scopes=["ingest"])
    response = client.post(
        f"/api/v1/incidents/{via_api.pk}/affected/",
        data=data,
        content_type="text/csv",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 201, response.content
    err = io.StringIO()
    call_command("import_affected", str(path), "--incident", via_command.reference, stdout=io.StringIO(), stderr=err)
    assert "rows" in err.getvalue()  # the progress bar

    jobs = {job.source: job for job in ImportJob.objects.all()}
    assert set(jobs) == {ImportSource.ADMIN, ImportSource.API, ImportSource.COMMAND}
    results = [
        (rejections(jobs[source]), jobs[source].affected_created, jobs[source].rows_rejected)
        for source in (ImportSource.ADMIN, ImportSource.API, ImportSource.COMMAND)
    ]
    assert results[0] == results[1] == results[2]
    assert [number for number, _ in results[0][0]] == [5, 9, 13, 17, 32]
    assert outcome(via_admin) == outcome(via_api) == outcome(via_command)
    assert len(outcome(via_admin)) == 26


def test_the_admin_progress_page_and_the_rejection_report(
    coordinator_client: Client, django_assert_max_num_queries: Any
) -> None:
    incident = IncidentFactory.create()
    job = run(incident, _mixed_file())
    for _ in range(3):
        run(IncidentFactory.create(), _mixed_file())
    with django_assert_max_num_queries(12):
        assert coordinator_client.get("/admin/incidents/importjob/").status_code == 200
    page = coordinator_client.get(f"/admin/incidents/importjob/{job.pk}/change/")
    assert page.status_code == 200
    assert b"Download the rejection report" in page.content
    report = coordinator_client.get(f"/admin/incidents/importjob/{job.pk}/rejections.csv")
    assert report.status_code == 200
    lines = b"".join(report.streaming_content).decode().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 + 5
    assert coordinator_client.get("/admin/incidents/importjob/").status_code == 200


def test_a_running_import_page_refreshes_and_shows_time_left(coordinator_client: Client, clock: Clock) -> None:
    import datetime as dt
    from datetime import timedelta

    from django.utils import timezone

    # Time stands still: the time left is worked out from the seconds since the start, so a slow run of the
    # test must not turn "30 s" into "31 s".
    clock.at(dt.datetime(2026, 6, 10, 14, 0, tzinfo=dt.UTC))
    incident = IncidentFactory.create()
    job = ImportJob.objects.create(
        incident=incident,
        source=ImportSource.API,
        status=ImportStatus.RUNNING,
        started_at=timezone.now() - timedelta(seconds=10),
        bytes_total=1000,
        bytes_done=250,
        rows_done=5000,
        rows_rejected=12,
    )
    page = coordinator_client.get(f"/admin/incidents/importjob/{job.pk}/change/")
    assert b'http-equiv="refresh"' in page.content
    assert b"25% of the file read" in page.content
    assert b"about 30 s left" in page.content


def test_a_rep_cannot_upload(rep_client: Client) -> None:
    incident = IncidentFactory.create()
    response = rep_client.post(
        "/admin/incidents/importjob/add/",
        {"incident": incident.pk, "file_format": "csv", "upload": io.BytesIO(csv_bytes([row(1)]))},
    )
    assert response.status_code == 403
    assert not ImportJob.objects.exists()


# --- at scale, on PostgreSQL -------------------------------------------------------------------
@pytest.mark.postgres
def test_ten_thousand_rows_on_postgresql_with_the_counts_checked() -> None:
    incident = IncidentFactory.create()
    rows = []
    bad = duplicates = 0
    for n in range(1, 10_001):
        if n % 500 == 0:
            rows.append(row(n, email="", phone=""))
            bad += 1
        elif n % 700 == 0:
            rows.append(row(n - 1))  # repeats the row before (never a bad one: 700k - 1 is no multiple of 500)
            duplicates += 1
        else:
            rows.append(row(n))
    assert (bad, duplicates) == (20, 12)
    good = 10_000 - bad - duplicates
    CustomerFactory.create(external_ref="C000001")  # one already known, with other details
    job = run(incident, csv_bytes(rows))
    assert job.status == ImportStatus.DONE
    assert job.rows_done == 10_000
    assert job.rows_rejected == bad + duplicates
    assert job.affected_created == good
    assert job.customers_created == good - 1
    assert job.customers_updated == 1
    assert ImportRejection.objects.filter(job=job, reason__startswith="duplicate").count() == duplicates
    assert ImportRejection.objects.filter(job=job, reason="email and phone are both missing").count() == bad
    assert AffectedCustomer.objects.filter(incident=incident).count() == good
    assert Customer.objects.count() == good
    incident.refresh_from_db()
    assert incident.affected_count == good
    again = run(incident, csv_bytes(rows))
    assert (again.affected_created, again.customers_created, again.customers_updated) == (0, 0, 0)
    assert again.affected_existing == good
    assert AffectedCustomer.objects.filter(incident=incident).count() == good


def test_an_import_whose_message_was_lost_is_started_again_by_the_sweep(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from incidents.ingest.services import imports_resume_stuck
    from incidents.schedules import schedules_ensure
    from tests.sweep_harness import eager_celery

    incident = IncidentFactory.create()
    job = import_job_create(incident=incident, source=ImportSource.API, upload=io.BytesIO(csv_bytes([row(1)])))
    fresh = import_job_create(incident=incident, source=ImportSource.API, upload=io.BytesIO(csv_bytes([row(2)])))
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    with eager_celery(), django_capture_on_commit_callbacks(execute=True):
        assert imports_resume_stuck() == 1  # the fresh one may still be on its way to a worker
    job.refresh_from_db()
    fresh.refresh_from_db()
    assert (job.status, job.affected_created) == (ImportStatus.DONE, 1)
    assert fresh.status == ImportStatus.QUEUED
    with eager_celery(), django_capture_on_commit_callbacks(execute=True):
        assert imports_resume_stuck() == 0
    schedules_ensure()
    from django_celery_beat.models import PeriodicTask

    assert PeriodicTask.objects.filter(task="incidents.tasks.sweep_stuck_imports_task").count() == 1


FORMULAS = ['=HYPERLINK("http://evil.example/","open me")', "+1+1", "-2+3", "@SUM(A1:A2)", "\tcmd"]


def test_the_rejection_report_never_hands_a_spreadsheet_a_formula(coordinator_client: Any, client: Client) -> None:
    """Refused rows are reported with the file's own values; a value that a spreadsheet would run comes back
    as text (a leading apostrophe), in the service's lines, the admin's download and the API's report."""
    incident = IncidentFactory.create()
    rows = [row(n, name=formula, email="", phone="") for n, formula in enumerate(FORMULAS, start=1)]
    job = run(incident, csv_bytes(rows))
    assert job.rows_rejected == len(FORMULAS)

    def names(lines: list[str]) -> list[str]:
        return [line["name"] for line in csv.DictReader(io.StringIO("".join(lines)))]

    assert names(list(rejection_report_lines(job))) == ["'" + formula for formula in FORMULAS]
    admin = coordinator_client.get(reverse("admin:incidents_importjob_rejections", args=[job.pk]))
    assert admin.status_code == 200
    _, raw = api_token_create(name="OCC", scopes=["read"])
    api = client.get(f"/api/v1/imports/{job.pk}/rejections.csv", headers={"Authorization": f"Bearer {raw}"})
    assert api.status_code == 200
    for response in (admin, api):
        lines = [chunk.decode() for chunk in response.streaming_content]  # type: ignore[union-attr]
        assert names(lines) == ["'" + formula for formula in FORMULAS]


def test_refused_files_are_deleted_once_their_retention_has_passed(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from incidents.ingest.services import imports_purge_refused_files

    settings.CARE_REFUSED_IMPORT_RETENTION = timedelta(days=7)
    incident = IncidentFactory.create()
    refused = run(incident, b"not,a,header\n")
    done = run(incident, csv_bytes([row(1)]))
    assert (refused.status, done.status) == (ImportStatus.FAILED, ImportStatus.DONE)
    assert not done.file  # an import that ran deleted its copy at once
    storage = ImportJob._meta.get_field("file").storage
    refused_name = refused.file.name or ""
    assert storage.exists(refused_name)
    finished = refused.finished_at
    assert finished is not None

    assert imports_purge_refused_files(now=finished + timedelta(days=6)) == 0  # still within its retention
    assert storage.exists(refused_name)
    with django_capture_on_commit_callbacks(execute=True):
        assert imports_purge_refused_files(now=finished + timedelta(days=8)) == 1
    refused.refresh_from_db()
    assert not refused.file
    assert not storage.exists(refused_name)
    assert refused.error  # the job still says why it was refused
    assert imports_purge_refused_files(now=timezone.now() + timedelta(days=30)) == 0  # nothing left to delete


@pytest.mark.parametrize("method", METHODS)
def test_imported_rows_are_stamped_on_the_applications_clock(method: str, clock: Clock) -> None:
    """The COPY merge used the database's now(): on a replayed day (or any clock skew) the late-first-contact
    alert then said "the longest has waited 88 min" 16 minutes after the import. Both paths stamp the rows
    with the application's time, which the alert measures against."""
    import datetime as dt

    from care.operations.alerts import alerts_sweep

    imported_at = clock.at(dt.datetime(2013, 2, 8, 20, 0, tzinfo=dt.UTC))
    CustomerFactory.create(external_ref="C000002", name="Before")
    incident = IncidentFactory.create(status=IncidentStatus.OPEN, first_contact_target_minutes=15)
    run(incident, csv_bytes([row(1), row(2)]), method=method)
    assert set(AffectedCustomer.objects.filter(incident=incident).values_list("created_at", flat=True)) == {imported_at}
    assert Customer.objects.get(external_ref="C000001").created_at == imported_at
    assert Customer.objects.get(external_ref="C000002").updated_at == imported_at

    later = clock.shift(dt.timedelta(minutes=16))
    alerts_sweep(now=later)
    alert = Alert.objects.get(kind=AlertKind.FIRST_CONTACT_LATE)
    assert "(the longest has waited 16 min)" in alert.message


@pytest.mark.parametrize("method", METHODS)
def test_customers_already_known_are_counted_whether_or_not_the_file_changes_them(method: str) -> None:
    """A day loaded station by station: the second station's file names customers the first one created.
    Unchanged they are not "updated", but they are counted as known, so the coordinator's figures add up
    (created + known = the file's customers)."""
    first, second = IncidentFactory.create(), IncidentFactory.create()
    run(first, csv_bytes([row(1), row(2), row(3)]), method=method)
    job = run(second, csv_bytes([row(2), row(3, name="Renamed"), row(4)]), method=method)
    assert (job.customers_created, job.customers_known, job.customers_updated) == (1, 2, 1)
    assert job.customers_created + job.customers_known == job.affected_created == 3
