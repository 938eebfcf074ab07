"""The incidents API: each role and token scope allowed and refused, transitions, timeline, affected, errors."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from care.core.api.tokens import api_token_create
from incidents.models import AffectedCustomer, ImportJob, ImportStatus, Incident, IncidentStatus, IncidentUpdate
from tests.factories import AffectedCustomerFactory, IncidentFactory

pytestmark = pytest.mark.django_db

NEW_INCIDENT = {
    "title": "Blizzard at JFK",
    "kind": "cancellation",
    "cause": "weather",
    "severity": 4,
    "stations": "jfk",
    "explanation": "A blizzard closed the runways at JFK from the early afternoon.",
}


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def bearer(*scopes: str) -> dict[str, str]:
    _, raw = api_token_create(name="OCC", scopes=list(scopes))
    return {"Authorization": f"Bearer {raw}"}


def post_json(client: Client, url: str, body: Any, **kwargs: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **kwargs)


def patch_json(client: Client, url: str, body: Any, **kwargs: Any) -> Any:
    return client.patch(url, data=json.dumps(body), content_type="application/json", **kwargs)


# --- tokens ------------------------------------------------------------------------------
def test_an_ingest_token_opens_an_incident_end_to_end(client: Client) -> None:
    headers = bearer("ingest", "read")
    response = post_json(client, "/api/v1/incidents/", NEW_INCIDENT, headers=headers)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["stations"] == "JFK"
    assert body["reference"].startswith("INC-")
    incident = Incident.objects.get(pk=body["id"])
    assert incident.status_changes.get().actor_label == "API token OCC"

    due = (timezone.now() + timedelta(hours=1)).isoformat()
    response = patch_json(client, f"/api/v1/incidents/{incident.pk}/", {"next_update_due_at": due}, headers=headers)
    assert response.status_code == 200, response.content
    response = post_json(client, f"/api/v1/incidents/{incident.pk}/transition/", {"to": "open"}, headers=headers)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "open"
    assert response.json()["opened_at"] is not None
    response = post_json(
        client,
        f"/api/v1/incidents/{incident.pk}/updates/",
        {"audience": "customers", "text": "Runways are being cleared.", "next_update_due_at": due},
        headers=headers,
    )
    assert response.status_code == 201, response.content
    listed = client.get(f"/api/v1/incidents/{incident.pk}/updates/", headers=headers).json()
    assert [entry["text"] for entry in listed["results"]] == ["Runways are being cleared."]


def test_a_read_token_reads_but_cannot_create_change_or_transition(client: Client) -> None:
    incident = IncidentFactory.create()
    headers = bearer("read")
    assert client.get("/api/v1/incidents/", headers=headers).status_code == 200
    assert client.get(f"/api/v1/incidents/{incident.pk}/", headers=headers).status_code == 200
    refused = [
        post_json(client, "/api/v1/incidents/", NEW_INCIDENT, headers=headers),
        patch_json(client, f"/api/v1/incidents/{incident.pk}/", {"title": "x"}, headers=headers),
        post_json(client, f"/api/v1/incidents/{incident.pk}/transition/", {"to": "open"}, headers=headers),
        post_json(
            client, f"/api/v1/incidents/{incident.pk}/updates/", {"audience": "internal", "text": "x"}, headers=headers
        ),
        post_json(client, f"/api/v1/incidents/{incident.pk}/affected/", [{"customer_ref": "C1"}], headers=headers),
    ]
    for response in refused:
        assert response.status_code == 403
        assert response.json() == {
            "code": "permission_denied",
            "message": "This token does not have the 'ingest' scope.",
            "errors": {},
        }
    incident.refresh_from_db()
    assert (incident.status, incident.title) != (IncidentStatus.OPEN, "x")
    assert Incident.objects.count() == 1
    assert not IncidentUpdate.objects.exists()
    assert not ImportJob.objects.exists()


def test_a_redeem_only_token_cannot_read_incidents(client: Client) -> None:
    response = client.get("/api/v1/incidents/", headers=bearer("redeem"))
    assert response.status_code == 403
    assert response.json()["message"] == "This token does not have the 'read' scope."


def test_anonymous_is_refused(client: Client) -> None:
    response = client.get("/api/v1/incidents/")
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


# --- sessions ----------------------------------------------------------------------------
def test_a_reps_session_reads_but_cannot_write(rep_client: Client) -> None:
    incident = IncidentFactory.create()
    assert rep_client.get("/api/v1/incidents/").status_code == 200
    assert rep_client.get(f"/api/v1/incidents/{incident.pk}/affected/").status_code == 200
    assert rep_client.get(f"/api/v1/incidents/{incident.pk}/updates/").status_code == 200
    assert post_json(rep_client, "/api/v1/incidents/", NEW_INCIDENT).status_code == 403
    assert patch_json(rep_client, f"/api/v1/incidents/{incident.pk}/", {"title": "x"}).status_code == 403
    assert post_json(rep_client, f"/api/v1/incidents/{incident.pk}/transition/", {"to": "open"}).status_code == 403
    assert (
        post_json(
            rep_client, f"/api/v1/incidents/{incident.pk}/updates/", {"audience": "internal", "text": "x"}
        ).status_code
        == 403
    )
    response = rep_client.post(f"/api/v1/incidents/{incident.pk}/affected/", data=b"x", content_type="text/csv")
    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.DRAFT
    assert Incident.objects.count() == 1


def test_a_coordinators_session_creates_changes_and_transitions(coordinator_client: Client, coordinator: Any) -> None:
    response = post_json(coordinator_client, "/api/v1/incidents/", NEW_INCIDENT)
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    due = (timezone.now() + timedelta(hours=1)).isoformat()
    assert patch_json(coordinator_client, f"/api/v1/incidents/{pk}/", {"next_update_due_at": due}).status_code == 200
    response = post_json(coordinator_client, f"/api/v1/incidents/{pk}/transition/", {"to": "open", "note": "go"})
    assert response.status_code == 200
    change = Incident.objects.get(pk=pk).status_changes.order_by("-id").first()
    assert change is not None
    assert (change.actor, change.note) == (coordinator, "go")


# --- transitions and domain refusals ---------------------------------------------------------
def test_a_transition_the_lifecycle_refuses_is_a_409_and_changes_nothing(client: Client) -> None:
    incident = IncidentFactory.create(explanation="")
    headers = bearer("ingest")
    response = post_json(client, f"/api/v1/incidents/{incident.pk}/transition/", {"to": "open"}, headers=headers)
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert "explanation" in response.json()["message"]
    response = post_json(client, f"/api/v1/incidents/{incident.pk}/transition/", {"to": "closed"}, headers=headers)
    assert response.status_code == 409
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.DRAFT


def test_a_closed_incident_cannot_be_changed_or_updated(client: Client) -> None:
    incident = IncidentFactory.create(status=IncidentStatus.CLOSED, title="Final")
    headers = bearer("ingest")
    assert patch_json(client, f"/api/v1/incidents/{incident.pk}/", {"title": "x"}, headers=headers).status_code == 409
    response = post_json(
        client, f"/api/v1/incidents/{incident.pk}/updates/", {"audience": "internal", "text": "x"}, headers=headers
    )
    assert response.status_code == 409
    incident.refresh_from_db()
    assert incident.title == "Final"


# --- malformed input: always a 4xx in the one shape, never a 500 ---------------------------------
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW_INCIDENT, "severity": "very"}, "severity"),
        ({**NEW_INCIDENT, "severity": 10**30}, "severity"),
        ({**NEW_INCIDENT, "first_contact_target_minutes": 10**30}, "first_contact_target_minutes"),
        ({**NEW_INCIDENT, "first_contact_target_minutes": -1}, "first_contact_target_minutes"),
        ({**NEW_INCIDENT, "kind": ["delay"]}, "kind"),
        ({**NEW_INCIDENT, "started_at": "yesterday"}, "started_at"),
        ({**NEW_INCIDENT, "stations": "JFK XXX"}, "stations"),
        ({**NEW_INCIDENT, "status": "open"}, "status"),
        ({**NEW_INCIDENT, "colour": "red"}, "colour"),
        ({"title": "x" * 500, "kind": "delay", "cause": "weather"}, "title"),
        ({}, "title"),
    ],
)
def test_a_bad_field_is_a_400_naming_it(client: Client, body: dict[str, Any], field: str) -> None:
    response = post_json(client, "/api/v1/incidents/", body, headers=bearer("ingest"))
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[1, 2, 3]", b'"a string"', b"null", b"\xff\xfe", b"9" * 5000, b'{"title": ' * 2000],
)
def test_garbage_bodies_are_400s(client: Client, raw: bytes) -> None:
    headers = bearer("ingest")
    response = client.post("/api/v1/incidents/", data=raw, content_type="application/json", headers=headers)
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"code", "message", "errors"}
    incident = IncidentFactory.create()
    for url in (f"/api/v1/incidents/{incident.pk}/transition/", f"/api/v1/incidents/{incident.pk}/updates/"):
        response = client.post(url, data=raw, content_type="application/json", headers=headers)
        assert response.status_code == 400, (url, response.content)
    if not raw.startswith(b"["):  # a JSON array is rows; its items that are not objects are rejected rows
        response = client.post(
            f"/api/v1/incidents/{incident.pk}/affected/", data=raw, content_type="application/json", headers=headers
        )
        assert response.status_code == 400, response.content


def test_unknown_ids_and_filters_are_4xx(client: Client) -> None:
    headers = bearer("read")
    assert client.get("/api/v1/incidents/999999/", headers=headers).status_code == 404
    assert client.get("/api/v1/incidents/999999/affected/", headers=headers).json()["code"] == "not_found"
    assert client.get("/api/v1/incidents/?status=flying", headers=headers).status_code == 400
    assert client.get("/api/v1/incidents/?started_after=tuesday", headers=headers).status_code == 400
    assert client.get("/api/v1/incidents/?cursor=garbage", headers=headers).status_code == 404
    assert client.get("/api/v1/incidents/?ordering=password", headers=headers).status_code == 200


def test_an_unsupported_body_type_is_a_415(client: Client) -> None:
    incident = IncidentFactory.create()
    response = client.post(
        f"/api/v1/incidents/{incident.pk}/affected/",
        data=b"<xml/>",
        content_type="application/xml",
        headers=bearer("ingest"),
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


# --- lists: filters, ordering, cursor pagination ----------------------------------------------------
def test_incidents_filter_order_and_page_by_cursor(client: Client, monkeypatch: Any) -> None:
    from rest_framework.pagination import CursorPagination

    monkeypatch.setattr(CursorPagination, "page_size", 2)
    IncidentFactory.create_batch(3, status=IncidentStatus.OPEN)
    IncidentFactory.create(status=IncidentStatus.DRAFT)
    headers = bearer("read")
    first = client.get("/api/v1/incidents/?status=open", headers=headers).json()
    assert len(first["results"]) == 2
    second = client.get(first["next"], headers=headers).json()
    assert len(second["results"]) == 1
    ids = [item["id"] for item in first["results"] + second["results"]]
    assert ids == sorted(ids, reverse=True)
    assert {item["status"] for item in first["results"] + second["results"]} == {"open"}


def test_affected_customers_list_filter_and_read(client: Client, django_assert_max_num_queries: Any) -> None:
    incident = IncidentFactory.create()
    rows = AffectedCustomerFactory.create_batch(5, incident=incident)
    AffectedCustomerFactory.create(incident=incident, carrier="B6")
    AffectedCustomerFactory.create()  # another incident
    headers = bearer("read")
    with django_assert_max_num_queries(6):
        body = client.get(f"/api/v1/incidents/{incident.pk}/affected/", headers=headers).json()
    assert len(body["results"]) == 6
    only = client.get(f"/api/v1/incidents/{incident.pk}/affected/?carrier=B6", headers=headers).json()
    assert [item["carrier"] for item in only["results"]] == ["B6"]
    one = client.get(f"/api/v1/affected/{rows[0].pk}/", headers=headers).json()
    assert one["customer_ref"] == rows[0].customer.external_ref
    assert one["impact_summary"] == "cancelled"
    ref = rows[1].customer.external_ref
    found = client.get(f"/api/v1/incidents/{incident.pk}/affected/?customer_ref={ref}", headers=headers).json()
    assert [item["id"] for item in found["results"]] == [rows[1].pk]


# --- bulk add through the API -----------------------------------------------------------------------
ROW = {
    "customer_ref": "C1",
    "name": "Ann Lee",
    "email": "ann@example.com",
    "carrier": "B6",
    "flight_number": "22",
    "flight_date": "2013-02-08",
    "origin": "JFK",
    "destination": "BOS",
    "cancelled": True,
}


def test_a_json_array_is_imported_in_the_request(client: Client) -> None:
    incident = IncidentFactory.create()
    rows = [ROW, {**ROW, "customer_ref": "C2", "email": "bad"}, {**ROW, "customer_ref": "C3", "delay_minutes": -4}]
    response = post_json(client, f"/api/v1/incidents/{incident.pk}/affected/", rows, headers=bearer("ingest"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["affected_created"], body["rows_rejected"]) == ("done", 1, 2)
    rejected = client.get(f"/api/v1/imports/{body['id']}/rejections/", headers=bearer("read")).json()
    assert [(item["row_number"], item["reason"]) for item in rejected["results"]] == [
        (2, "email is malformed"),
        (3, "impossible delay of -4 minutes (allowed: 0 to 10080)"),
    ]
    report = client.get(body["rejections_url"], headers=bearer("read"))
    assert report.status_code == 200
    assert report["Content-Type"].startswith("text/csv")
    assert len(b"".join(report.streaming_content).splitlines()) == 3  # type: ignore[attr-defined]
    assert AffectedCustomer.objects.get(incident=incident).customer.external_ref == "C1"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "non-empty JSON array"),
        ({"rows": "C1"}, "non-empty JSON array"),
        ([ROW] * 5001, "At most 5000 rows"),
    ],
)
def test_a_json_body_that_is_not_rows_is_a_400(client: Client, body: Any, message: str) -> None:
    incident = IncidentFactory.create()
    response = post_json(client, f"/api/v1/incidents/{incident.pk}/affected/", body, headers=bearer("ingest"))
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert not AffectedCustomer.objects.exists()


def test_json_rows_with_wrong_types_are_rejected_rows_not_errors(client: Client) -> None:
    incident = IncidentFactory.create()
    rows = [
        {**ROW, "delay_minutes": {"h": 1}},
        "C1",
        {**ROW, "customer_ref": "C9", "seat": "1A"},
        {**ROW, "customer_ref": 7},
    ]
    response = post_json(client, f"/api/v1/incidents/{incident.pk}/affected/", rows, headers=bearer("ingest"))
    assert response.status_code == 201
    job = ImportJob.objects.get()
    reasons = list(job.rejections.order_by("row_number").values_list("reason", flat=True))
    assert reasons == [
        "delay_minutes must be a text, number or true/false value",
        "is not a JSON object of column: value",
        "has unknown field(s) seat",
    ]
    assert AffectedCustomer.objects.get().customer.external_ref == "7"


def test_a_csv_with_a_bad_header_is_a_400_with_the_reason(client: Client) -> None:
    incident = IncidentFactory.create()
    response = client.post(
        f"/api/v1/incidents/{incident.pk}/affected/",
        data=b"customer,name\nC1,Ann\n",
        content_type="text/csv",
        headers=bearer("ingest"),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_file"
    assert "missing required column(s) customer_ref" in response.json()["message"]


def test_a_large_csv_body_is_imported_in_the_background(
    client: Client, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.sweep_harness import eager_celery

    monkeypatch.setattr("incidents.api.affected.SYNC_MAX_BYTES", 10)
    incident = IncidentFactory.create()
    data = io.StringIO()
    call_command(
        "export_demo_affected",
        "--station",
        "LGA",
        "--day",
        "2013-02-09",
        "--passengers-per-flight",
        "1",
        stdout=data,
        stderr=io.StringIO(),
    )
    with eager_celery(), django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/incidents/{incident.pk}/affected/",
            data=data.getvalue().encode(),
            content_type="text/csv",
            headers=bearer("ingest"),
        )
    assert response.status_code == 202, response.content
    assert response["Location"] == f"/api/v1/imports/{response.json()['id']}/"
    job = client.get(response["Location"], headers=bearer("read")).json()
    rows = len(data.getvalue().splitlines()) - 1
    assert (job["status"], job["rows_done"], job["affected_created"], job["fraction_done"]) == ("done", rows, rows, 1.0)
    assert job["seconds_left"] == 0.0
    incident.refresh_from_db()
    assert incident.affected_count == rows


# --- the blizzard through the API, then the sweep takes over ---------------------------------------
def test_an_operations_system_opens_the_blizzard_and_loads_its_customers_then_the_sweep_notifies_them(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from django.apps import apps as django_apps

    from care.correspondence.default_templates import default_templates_install
    from care.operations.sweeps import sweep_first_notices
    from tests.sweep_harness import eager_celery, initial_notices

    default_templates_install(django_apps)
    headers = bearer("ingest", "read")
    due = (timezone.now() + timedelta(minutes=30)).isoformat()
    response = post_json(client, "/api/v1/incidents/", {**NEW_INCIDENT, "next_update_due_at": due}, headers=headers)
    incident_id = response.json()["id"]
    data = io.StringIO()
    call_command(
        "export_demo_affected",
        "--station",
        "JFK",
        "--day",
        "2013-02-08",
        "--passengers-per-flight",
        "1",
        stdout=data,
        stderr=io.StringIO(),
    )
    response = client.post(
        f"/api/v1/incidents/{incident_id}/affected/",
        data=data.getvalue().encode(),
        content_type="text/csv",
        headers=headers,
    )
    assert response.status_code == 201, response.content
    rows = len(data.getvalue().splitlines()) - 1
    assert response.json()["affected_created"] == rows
    assert (
        post_json(client, f"/api/v1/incidents/{incident_id}/transition/", {"to": "open"}, headers=headers).status_code
        == 200
    )
    incident = Incident.objects.get(pk=incident_id)
    assert incident.affected_count == rows
    with eager_celery(), django_capture_on_commit_callbacks(execute=True):
        counts = sweep_first_notices()
    assert counts["customers"] == rows
    assert initial_notices(incident).count() == rows
    assert ImportJob.objects.get().status == ImportStatus.DONE


# --- schema and docs -------------------------------------------------------------------------------
def test_the_openapi_schema_has_no_errors_or_warnings() -> None:
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--api-version", "v1", stdout=out, stderr=io.StringIO())
    schema = out.getvalue()
    for path in (
        "/api/v1/incidents/{id}/transition/",
        "/api/v1/incidents/{incident_pk}/affected/",
        "/api/v1/customers/{external_ref}/",
        "/api/v1/letters/",
        "/api/v1/imports/{id}/rejections.csv",
    ):
        assert path in schema


def test_the_docs_page_is_served_without_a_cdn(client: Client, rep: Any) -> None:
    client.force_login(rep)
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    assert b"drf_spectacular_sidecar/swagger-ui-dist" in page.content
    assert b"cdn.jsdelivr" not in page.content


# --- no 500 for any malformed input -----------------------------------------------------------------
GARBAGE_BODIES = [
    b"",
    b"{",
    b"[]",
    b'{"a": NaN}',
    b'{"severity": 1e400, "title": 5, "kind": null}',
    b'{"to": "open", "note": {"x": 1}}',
    b'{"audience": "customers", "text": "x", "next_update_due_at": "2013-02-30T25:00"}',
    b'{"name": "x", "phone": 12125550100}',
    "\u0000\ud800".encode("utf-8", "surrogatepass"),
]
GARBAGE_QUERIES = [
    "?status=",
    "?severity=abc",
    "?flight_date=2013-13-45",
    "?incident=abc",
    "?customer=-1",
    "?ordering=-nonexistent,,",
    "?cursor=%00",
    "?contacted=maybe",
    "?started_after=9999999999999999999999",
]


def test_no_endpoint_answers_malformed_input_with_a_500(client: Client) -> None:
    incident = IncidentFactory.create()
    affected = AffectedCustomerFactory.create(incident=incident)
    headers = bearer("read", "ingest")
    reads = [
        "/api/v1/incidents/",
        f"/api/v1/incidents/{incident.pk}/affected/",
        f"/api/v1/incidents/{incident.pk}/updates/",
        "/api/v1/customers/",
        "/api/v1/letters/",
        "/api/v1/imports/",
    ]
    for url in reads:
        for query in GARBAGE_QUERIES:
            response = client.get(url + query, headers=headers)
            assert response.status_code < 500, (url, query)
    writes = [
        ("post", "/api/v1/incidents/"),
        ("patch", f"/api/v1/incidents/{incident.pk}/"),
        ("post", f"/api/v1/incidents/{incident.pk}/transition/"),
        ("post", f"/api/v1/incidents/{incident.pk}/updates/"),
        ("post", f"/api/v1/incidents/{incident.pk}/affected/"),
        ("put", f"/api/v1/customers/{affected.customer.external_ref}/"),
    ]
    for method, url in writes:
        for body in GARBAGE_BODIES:
            for content_type in ("application/json", "text/csv"):
                response = getattr(client, method)(url, data=body, content_type=content_type, headers=headers)
                assert response.status_code < 500, (method, url, body, content_type)
                if response.status_code >= 400:
                    assert set(response.json()) >= {"code", "message", "errors"}, (url, body)


def test_bodies_over_the_limits_are_413s_before_anything_is_read(client: Client, monkeypatch: Any) -> None:
    incident = IncidentFactory.create()
    monkeypatch.setattr("incidents.api.affected.UPLOAD_MAX_BYTES", 100)
    monkeypatch.setattr("incidents.api.affected.JSON_MAX_BYTES", 50)
    url = f"/api/v1/incidents/{incident.pk}/affected/"
    response = client.post(url, data=b"x" * 101, content_type="text/csv", headers=bearer("ingest"))
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert "file is limited" in response.json()["message"]
    # Over the JSON limit but under the file limit: only the JSON limit refuses it.
    body = json.dumps([{"customer_ref": "C1", "name": "Ann Lee", "email": "ann@example.com"}]).encode()
    assert 50 < len(body) <= 100
    response = client.post(url, data=body, content_type="application/json", headers=bearer("ingest"))
    assert response.status_code == 413
    assert "JSON body is limited" in response.json()["message"]
    assert not ImportJob.objects.exists()


def test_json_lines_are_accepted_and_imports_are_listed_by_incident(client: Client) -> None:
    incident, other = IncidentFactory.create_batch(2)
    body = "\n".join(json.dumps({**ROW, "customer_ref": f"C{n}"}) for n in range(3)).encode()
    response = client.post(
        f"/api/v1/incidents/{incident.pk}/affected/",
        data=body,
        content_type="application/x-ndjson",
        headers=bearer("ingest"),
    )
    assert response.status_code == 201, response.content
    assert (response.json()["file_format"], response.json()["affected_created"]) == ("jsonl", 3)
    post_json(client, f"/api/v1/incidents/{other.pk}/affected/", [ROW], headers=bearer("ingest"))
    listed = client.get(f"/api/v1/imports/?incident={incident.pk}", headers=bearer("read")).json()
    assert [item["id"] for item in listed["results"]] == [response.json()["id"]]
    assert client.get("/api/v1/imports/", headers=bearer("redeem")).status_code == 403


def test_incidents_order_by_a_field_with_the_cursor(client: Client, monkeypatch: Any) -> None:
    from rest_framework.pagination import CursorPagination

    monkeypatch.setattr(CursorPagination, "page_size", 2)
    for severity in (2, 4, 1, 3):
        IncidentFactory.create(severity=severity)
    headers = bearer("read")
    first = client.get("/api/v1/incidents/?ordering=severity", headers=headers).json()
    second = client.get(first["next"], headers=headers).json()
    assert [item["severity"] for item in first["results"] + second["results"]] == [1, 2, 3, 4]
