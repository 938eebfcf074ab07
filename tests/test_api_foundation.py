from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import path
from django.utils import timezone
from rest_framework import generics, serializers

from care.core.actors import SystemActor
from care.core.api.models import ApiToken
from care.core.api.tokens import api_token_create, api_tokens_revoke
from care.core.errors import DomainError
from care.customers.models import Customer

pytestmark = pytest.mark.django_db


class _CustomerSerializer(serializers.ModelSerializer[Customer]):
    class Meta:
        model = Customer
        fields = ("id", "external_ref", "name")


class _Customers(generics.ListCreateAPIView[Customer]):
    queryset = Customer.objects.order_by("id")
    serializer_class = _CustomerSerializer
    write_scope = "ingest"
    pagination_class = None


urlpatterns = [path("probe/", _Customers.as_view())]


@pytest.fixture(autouse=True)
def _probe_urls(settings: object) -> None:
    settings.ROOT_URLCONF = __name__  # type: ignore[attr-defined]


def _bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def test_token_is_stored_hashed_and_shown_once() -> None:
    token, raw = api_token_create(name="OCC", scopes=["read"])
    assert raw.startswith(f"pct_{token.key_prefix}_")
    assert raw not in token.key_digest
    assert ApiToken.objects.filter(key_digest__contains=raw[-20:]).count() == 0


def test_unknown_scope_is_refused() -> None:
    with pytest.raises(DomainError, match="scopes"):
        api_token_create(name="x", scopes=["admin"])
    assert not ApiToken.objects.exists()


def test_read_scope_reads_but_cannot_write(client: Client) -> None:
    _, raw = api_token_create(name="OCC", scopes=["read"])
    assert client.get("/probe/", headers=_bearer(raw)).status_code == 200
    response = client.post("/probe/", {"external_ref": "C1", "name": "Ann"}, headers=_bearer(raw))
    assert response.status_code == 403
    assert response.json() == {
        "code": "permission_denied",
        "message": "This token does not have the 'ingest' scope.",
        "errors": {},
    }
    assert not Customer.objects.exists()


def test_ingest_scope_writes_and_errors_have_one_shape(client: Client) -> None:
    _, raw = api_token_create(name="OCC", scopes=["ingest"])
    response = client.post("/probe/", {"name": "Ann"}, headers=_bearer(raw))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "external_ref" in body["errors"]
    assert client.post("/probe/", {"external_ref": "C1", "name": "Ann"}, headers=_bearer(raw)).status_code == 201


def test_revoked_expired_and_garbage_tokens_are_refused(client: Client) -> None:
    token, raw = api_token_create(name="OCC", scopes=["read"])
    _, expired = api_token_create(name="old", scopes=["read"], expires_at=timezone.now() - timedelta(days=1))
    api_tokens_revoke(token_ids=[token.pk], actor=SystemActor("security desk"))
    for bad in (raw, expired, "pct_nothing_here", "\u00e9t\u00e9"):
        response = client.get("/probe/", headers=_bearer(bad))
        assert response.status_code == 401, bad
        assert response.json()["code"] == "authentication_failed"


def test_rep_session_reads_coordinator_writes(rep_client: Client, coordinator_client: Client) -> None:
    assert rep_client.get("/probe/").status_code == 200
    assert rep_client.post("/probe/", {"external_ref": "C1", "name": "Ann"}).status_code == 403
    assert coordinator_client.post("/probe/", {"external_ref": "C1", "name": "Ann"}).status_code == 201


def test_anonymous_is_refused(client: Client) -> None:
    response = client.get("/probe/")
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"
