"""Customers (upsert by external reference, read) and letters (read) over the API, by role and scope."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from care.core.api.tokens import api_token_create
from care.customers.models import Customer
from tests.factories import CustomerFactory, LetterFactory

pytestmark = pytest.mark.django_db


def bearer(*scopes: str) -> dict[str, str]:
    _, raw = api_token_create(name="Bookings", scopes=list(scopes))
    return {"Authorization": f"Bearer {raw}"}


def put_json(client: Client, url: str, body: Any, **kwargs: Any) -> Any:
    return client.put(url, data=json.dumps(body), content_type="application/json", **kwargs)


def test_an_ingest_token_creates_then_updates_a_customer_by_reference(client: Client) -> None:
    headers = bearer("ingest", "read")
    body = {"name": "Ann Lee", "email": "ann@example.com", "phone": "+12125550101", "language": "fr"}
    response = put_json(client, "/api/v1/customers/PNR-42/", body, headers=headers)
    assert response.status_code == 201, response.content
    assert response.json()["external_ref"] == "PNR-42"
    response = put_json(client, "/api/v1/customers/PNR-42/", {"email": "ann.lee@example.com"}, headers=headers)
    assert response.status_code == 200, response.content
    customer = Customer.objects.get()
    assert (customer.name, customer.email, customer.phone, customer.language) == (
        "Ann Lee",
        "ann.lee@example.com",
        "+12125550101",
        "fr",
    )
    read = client.get("/api/v1/customers/PNR-42/", headers=headers).json()
    assert read["email"] == "ann.lee@example.com"
    listed = client.get("/api/v1/customers/?external_ref=PNR-42", headers=headers).json()
    assert [item["external_ref"] for item in listed["results"]] == ["PNR-42"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Ann", "phone": "212 555"}, "phone"),
        ({"name": "Ann", "email": "ann@"}, "email"),
        ({"name": "Ann", "time_zone": "Mars/Base"}, "time_zone"),
        ({"name": "Ann", "language": "tlh"}, "language"),
        ({"name": "Ann", "suppressed_at": "2020-01-01T00:00:00Z"}, "suppressed_at"),
        ({"name": ["Ann"]}, "name"),
        ({"name": "A" * 201}, "name"),
    ],
)
def test_bad_customer_fields_are_400s_that_change_nothing(client: Client, body: dict[str, Any], field: str) -> None:
    response = put_json(client, "/api/v1/customers/PNR-1/", body, headers=bearer("ingest"))
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Customer.objects.exists()


def test_a_new_customer_without_a_name_is_refused(client: Client) -> None:
    response = put_json(client, "/api/v1/customers/PNR-1/", {"email": "a@example.com"}, headers=bearer("ingest"))
    assert response.status_code == 409
    assert "needs a name" in response.json()["message"]
    assert not Customer.objects.exists()


def test_a_read_token_and_a_rep_cannot_upsert(client: Client, rep_client: Client) -> None:
    CustomerFactory.create(external_ref="PNR-1", name="Ann")
    assert put_json(client, "/api/v1/customers/PNR-1/", {"name": "Bob"}, headers=bearer("read")).status_code == 403
    assert put_json(rep_client, "/api/v1/customers/PNR-1/", {"name": "Bob"}).status_code == 403
    assert rep_client.get("/api/v1/customers/PNR-1/").status_code == 200
    assert Customer.objects.get().name == "Ann"


def test_a_coordinator_upserts_from_the_browser(coordinator_client: Client) -> None:
    response = put_json(coordinator_client, "/api/v1/customers/PNR-9/", {"name": "Cy", "email": "cy@example.com"})
    assert response.status_code == 201
    assert Customer.objects.get().external_ref == "PNR-9"


def test_customers_cannot_be_deleted_or_posted(client: Client) -> None:
    CustomerFactory.create(external_ref="PNR-1")
    headers = bearer("ingest")
    assert client.delete("/api/v1/customers/PNR-1/", headers=headers).status_code == 405
    assert client.post("/api/v1/customers/", {"name": "x"}, headers=headers).status_code == 405
    assert Customer.objects.count() == 1


def test_letters_are_read_with_filters_and_never_written(client: Client, rep_client: Client) -> None:
    letter = LetterFactory.create()
    LetterFactory.create()
    headers = bearer("read")
    body = client.get(f"/api/v1/letters/?incident={letter.incident_id}", headers=headers).json()
    assert [item["id"] for item in body["results"]] == [letter.pk]
    assert client.get(f"/api/v1/letters/{letter.pk}/", headers=headers).json()["subject"] == letter.subject
    by_kind = client.get("/api/v1/letters/?kind=apology&kind=survey", headers=headers).json()
    assert len(by_kind["results"]) == 2
    assert client.get("/api/v1/letters/?kind=postcard", headers=headers).status_code == 400
    assert rep_client.get("/api/v1/letters/").status_code == 200
    assert client.post("/api/v1/letters/", {}, headers=bearer("ingest")).status_code == 403
    assert client.get("/api/v1/letters/", headers=bearer("redeem")).status_code == 403
