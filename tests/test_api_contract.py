"""The API keeps to what its schema says: the error body everywhere under /api/, filters that take exactly
the values the schema gives them, JSON bodies whose values have the documented types, and no 500 for a NUL."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from care.core.api.tokens import api_token_create
from care.customers.models import SuppressionReason
from incidents.models import ImportRejection, IncidentStatus
from tests.factories import AffectedCustomerFactory, CustomerFactory, IncidentFactory, LetterFactory
from tests.factories_redemption import redeemable_voucher

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"code", "message", "errors"}


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def headers() -> dict[str, str]:
    _, raw = api_token_create(name="OCC", scopes=["read", "ingest", "redeem"])
    return {"Authorization": f"Bearer {raw}"}


def _is_error_body(response: Any, status: int) -> bool:
    return (
        response.status_code == status
        and response["Content-Type"].startswith("application/json")
        and set(response.json()) == ERROR_KEYS
    )


# --- the error body under /api/ ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    ["/api/", "/api", "/api/v2/incidents/", "/api/v1/nothing-here/", "/api/v1/incidents/abc/updates/", "/api/v1/x/y/z"],
)
def test_an_unknown_url_under_api_gets_the_json_error_body(client: Client, headers: dict[str, str], url: str) -> None:
    for response in (client.get(url, headers=headers), client.post(url, headers=headers), client.get(url)):
        assert _is_error_body(response, 404), (url, response.status_code, response.content[:200])
        assert response.json()["code"] == "not_found"


def test_outside_api_django_still_answers_its_own_404(client: Client) -> None:
    response = client.get("/apiary/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_a_missing_slash_redirects_a_read_and_names_the_right_url_for_a_write(
    client: Client, headers: dict[str, str]
) -> None:
    response = client.get("/api/v1/incidents?status=open", headers=headers)
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/incidents/?status=open"
    response = client.post("/api/v1/incidents", data="{}", content_type="application/json", headers=headers)
    assert _is_error_body(response, 404)
    assert "/api/v1/incidents/" in response.json()["message"]


def test_a_wrong_method_and_an_unknown_id_get_the_error_body_too(client: Client, headers: dict[str, str]) -> None:
    incident = IncidentFactory.create()
    response = client.delete(f"/api/v1/incidents/{incident.pk}/", headers=headers)
    assert _is_error_body(response, 405)
    assert response.json()["code"] == "method_not_allowed"
    assert "PATCH" in response["Allow"]
    assert _is_error_body(client.get("/api/v1/incidents/999999/", headers=headers), 404)
    assert _is_error_body(client.get("/api/v1/customers/NOBODY/", headers=headers), 404)
    assert _is_error_body(client.get("/api/v1/imports/999999/rejections.csv", headers=headers), 404)
    # An error is the JSON body even when the client asked for the CSV.
    response = client.get("/api/v1/imports/999999/rejections.csv", headers={**headers, "Accept": "text/csv"})
    assert _is_error_body(response, 404)


# --- filters take what the schema says, and only that ---------------------------------------------------
def test_an_id_filter_takes_any_whole_number_and_an_unknown_id_is_an_empty_page(
    client: Client, headers: dict[str, str]
) -> None:
    letter = LetterFactory.create()
    for query in (
        f"?incident={letter.incident_id}",
        "?incident=",
        "?incident=&cursor=",
        f"?customer={letter.customer_id}",
    ):
        assert [row["id"] for row in client.get(f"/api/v1/letters/{query}", headers=headers).json()["results"]] == [
            letter.pk
        ], query
        assert client.get(f"/api/v1/briefings/{query}", headers=headers).status_code == 200
        imports = client.get(f"/api/v1/imports/{query.replace('customer', 'incident')}", headers=headers)
        assert imports.status_code == 200
    assert client.get("/api/v1/letters/?incident=987654", headers=headers).json()["results"] == []
    assert client.get("/api/v1/briefings/?incident=987654", headers=headers).json()["results"] == []
    for bad in ("0", "-1", "1.0", "+1", " 1", "abc", "99999999999999999999"):
        response = client.get("/api/v1/letters/", {"incident": bad}, headers=headers)
        assert _is_error_body(response, 400), bad
        assert "incident" in response.json()["errors"]


def test_dates_and_date_times_are_rfc_3339_and_booleans_true_or_false(client: Client, headers: dict[str, str]) -> None:
    incident = IncidentFactory.create()
    AffectedCustomerFactory.create(incident=incident)
    affected = f"/api/v1/incidents/{incident.pk}/affected/"
    assert len(client.get(f"{affected}?flight_date=2013-02-08", headers=headers).json()["results"]) == 1
    assert len(client.get(f"{affected}?flight_date=", headers=headers).json()["results"]) == 1  # not filtered
    for bad in ("02/08/2013", "2013-2-8", "2013-02-30", "Feb 8 2013"):
        assert _is_error_body(client.get(f"{affected}?flight_date={bad}", headers=headers), 400), bad
    for good in ("2013-02-08T10:00:00Z", "2013-02-08T05:00:00.5-05:00", "2013-02-08t10:00:00z"):
        assert client.get("/api/v1/incidents/", {"started_after": good}, headers=headers).status_code == 200, good
    for bad in ("2013-02-08T10:00", "2013-02-08 10:00:00Z", "2013-02-08", "tuesday"):
        response = client.get("/api/v1/incidents/", {"started_after": bad}, headers=headers)
        assert _is_error_body(response, 400), bad
    # At the ends of the calendar an offset carries the instant past what a datetime holds in UTC: still a bound.
    late = client.get("/api/v1/incidents/", {"started_after": "9999-12-31T23:00:00-23:00"}, headers=headers)
    early = client.get("/api/v1/incidents/", {"started_before": "0001-01-01T00:00:00+23:00"}, headers=headers)
    assert (late.json()["results"], early.json()["results"]) == ([], [])
    for bad in ("maybe", "1", "True", "yes"):
        assert _is_error_body(client.get(f"{affected}?contacted={bad}", headers=headers), 400), bad
    assert client.get(f"{affected}?contacted=false", headers=headers).json()["results"][0]["id"]


def test_the_voucher_page_size_is_a_whole_number_from_one(client: Client, headers: dict[str, str]) -> None:
    for _ in range(3):
        redeemable_voucher()
    assert len(client.get("/api/v1/vouchers/?page_size=2", headers=headers).json()["results"]) == 2
    assert len(client.get("/api/v1/vouchers/?page_size=", headers=headers).json()["results"]) == 3
    assert len(client.get("/api/v1/vouchers/?page_size=99999999999", headers=headers).json()["results"]) == 3
    for bad in ("false", "0", "-3", "2.5", "00"):
        response = client.get(f"/api/v1/vouchers/?page_size={bad}", headers=headers)
        assert _is_error_body(response, 400), bad
        assert "page_size" in response.json()["errors"]


# --- JSON values have the documented types -------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [("title", 5), ("severity", "2"), ("severity", 2.0), ("within_control", "yes"), ("within_control", 1)],
)
def test_a_json_value_of_another_type_is_refused(
    client: Client, headers: dict[str, str], field: str, value: Any
) -> None:
    body = {"title": "Blizzard at JFK", "kind": "cancellation", "cause": "weather", field: value}
    response = client.post(
        "/api/v1/incidents/", data=json.dumps(body), content_type="application/json", headers=headers
    )
    assert _is_error_body(response, 400)
    assert list(response.json()["errors"]) == [field]


def test_a_customers_blank_email_and_suppression_reason_are_in_the_schema(
    client: Client, headers: dict[str, str]
) -> None:
    customer = CustomerFactory.create(email="", phone="")
    body = client.get(f"/api/v1/customers/{customer.external_ref}/", headers=headers).json()
    assert (body["email"], body["phone"], body["suppression_reason"]) == ("", "", "")
    out = io.StringIO()
    call_command("spectacular", "--api-version", "v1", stdout=out, stderr=io.StringIO())
    customer_schema = yaml.safe_load(out.getvalue())["components"]["schemas"]["Customer"]["properties"]
    assert {"maxLength": 0, "type": "string"} in customer_schema["email"]["oneOf"]
    assert {"$ref": "#/components/schemas/BlankEnum"} in customer_schema["suppression_reason"]["oneOf"]
    enums = yaml.safe_load(out.getvalue())["components"]["schemas"]
    assert SuppressionReason.HARD_BOUNCE in enums["SuppressionReasonEnum"]["enum"]


def test_every_operation_documents_its_errors_with_the_error_body() -> None:
    out = io.StringIO()
    call_command("spectacular", "--api-version", "v1", stdout=out, stderr=io.StringIO())
    schema = yaml.safe_load(out.getvalue())
    assert schema["components"]["schemas"]["ApiError"]["required"] == ["code", "errors", "message"]
    error_ref = {"$ref": "#/components/schemas/ApiError"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status in ("401", "403"):
                assert responses[status]["content"]["application/json"]["schema"] == error_ref, (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            if method in ("post", "put", "patch"):
                assert {"400", "409", "415"} <= set(responses), (method, path)
    redeem = schema["paths"]["/api/v1/vouchers/redeem"]["post"]["responses"]
    assert {"422", "429"} <= set(redeem)
    assert "413" in schema["paths"]["/api/v1/incidents/{incident_pk}/affected/"]["post"]["responses"]


# --- NUL (U+0000), which PostgreSQL cannot store, is a 4xx or a rejected row ----------------------------------
def test_a_nul_in_a_customer_reference_is_a_404_not_a_500(client: Client, headers: dict[str, str]) -> None:
    assert _is_error_body(client.get("/api/v1/customers/A%00B/", headers=headers), 404)
    put = client.put("/api/v1/customers/A%00B/", data="{}", content_type="application/json", headers=headers)
    assert _is_error_body(put, 404)


def test_a_nul_in_an_imported_row_rejects_the_row(client: Client, headers: dict[str, str]) -> None:
    incident = IncidentFactory.create(status=IncidentStatus.OPEN, opened_at=timezone.now())
    url = f"/api/v1/incidents/{incident.pk}/affected/"
    header = "customer_ref,name,carrier,flight_number,flight_date,origin,destination,email"
    csv = f"{header}\nC1,Ann\x00Example,B6,22,2013-02-08,JFK,LAX,ann@example.com\n"
    response = client.post(url, data=csv.encode(), content_type="text/csv", headers=headers)
    assert response.status_code == 201, response.content
    assert response.json()["rows_rejected"] == 1
    rows = [{"customer_ref": "C2\x00", "name": "Bo"}, {"bad\x00key": "x"}]
    response = client.post(url, data=json.dumps(rows), content_type="application/json", headers=headers)
    assert response.status_code == 201, response.content
    assert response.json()["rows_rejected"] == 2
    reasons = list(ImportRejection.objects.order_by("job_id", "row_number").values_list("reason", "raw"))
    assert reasons[0][0] == "contains a NUL character (U+0000), which no column can hold"
    assert all("\x00" not in json.dumps(raw) and "\x00" not in reason for reason, raw in reasons)
    assert "\ufffd" in reasons[0][1]["name"]
    refused = client.post(url, data=b"customer_ref,na\x00me\n", content_type="text/csv", headers=headers)
    assert _is_error_body(refused, 400)
    assert "\x00" not in refused.json()["message"]
