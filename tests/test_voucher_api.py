"""The voucher API: validate and redeem for the booking system, read for reps and integrations.

Every refusal has its own status and ``code`` and changes nothing; failed lookups are throttled per client.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from care.core.actors import SystemActor
from care.core.api.tokens import api_token_create
from tests.factories import AffectedCustomerFactory, IncidentFactory, UserFactory
from tests.factories_redemption import redeemable_voucher
from vouchers import codes
from vouchers.models import Voucher, VoucherRedemption, VoucherStatus
from vouchers.services import vouchers_void

pytestmark = pytest.mark.django_db

VALIDATE = "/api/v1/vouchers/validate"
REDEEM = "/api/v1/vouchers/redeem"
LIST = "/api/v1/vouchers/"


@pytest.fixture(autouse=True)
def _fresh_failure_counts() -> Any:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def booking() -> str:
    return api_token_create(name="Booking engine", scopes=["redeem"])[1]


@pytest.fixture
def reader() -> str:
    return api_token_create(name="Data warehouse", scopes=["read"])[1]


def bearer(raw: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}", **extra}


def post(client: Client, url: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    payload = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, payload, content_type="application/json", headers=headers or {})


def redeem(client: Client, raw: str, body: dict[str, Any], key: str | None = "key-1") -> Any:
    headers = bearer(raw, **({"Idempotency-Key": key} if key is not None else {}))
    return post(client, REDEEM, body, headers)


def mistyped(code: str) -> str:
    return ("1" if code[0] != "1" else "2") + code[1:]


def state(voucher: Voucher) -> tuple[Any, ...]:
    voucher.refresh_from_db()
    return voucher.redeemed_amount, voucher.status, VoucherRedemption.objects.count()


# --- validate -------------------------------------------------------------------------------------------------
def test_validate_answers_what_the_code_is_worth(client: Client, booking: str) -> None:
    voucher = redeemable_voucher()
    typed = voucher.code.lower().replace("-", " ")
    response = post(client, VALIDATE, {"code": typed}, bearer(booking))
    assert response.status_code == 200
    assert response.json() == {
        "code": voucher.code,
        "status": "issued",
        "amount": "150.00",
        "balance": "150.00",
        "currency": "USD",
        "expires_at": voucher.expires_at.isoformat().replace("+00:00", "Z"),
        "redeemable": True,
    }


def _void_code(voucher: Voucher) -> str:
    vouchers_void(voucher_ids=[voucher.pk], actor=SystemActor("finance desk"), reason="Duplicate")
    return voucher.code


def _expired_code(voucher: Voucher) -> str:
    # Past its expiry but the expiry task has not run: still "issued" in the database.
    Voucher.objects.filter(pk=voucher.pk).update(
        issued_at=timezone.now() - timedelta(days=30), expires_at=timezone.now() - timedelta(seconds=1)
    )
    return voucher.code


def _used_code(voucher: Voucher) -> str:
    Voucher.objects.filter(pk=voucher.pk).update(status=VoucherStatus.REDEEMED, redeemed_amount=voucher.amount)
    return voucher.code


CODE_CASES = [
    ("malformed", lambda v: "ABC-123", 400, "code_malformed"),
    ("mistyped", lambda v: mistyped(v.code), 400, "code_mistyped"),
    ("unknown", lambda v: codes.generate_code(), 404, "code_unknown"),
    ("void", _void_code, 409, "voucher_void"),
    ("expired", _expired_code, 409, "voucher_expired"),
    ("redeemed", _used_code, 409, "voucher_redeemed"),
]


@pytest.mark.parametrize(
    ("make_code", "status", "code"), [case[1:] for case in CODE_CASES], ids=[case[0] for case in CODE_CASES]
)
def test_validate_refuses_each_wrong_code_with_its_own_answer(
    client: Client, booking: str, make_code: Any, status: int, code: str
) -> None:
    voucher = redeemable_voucher()
    response = post(client, VALIDATE, {"code": make_code(voucher)}, bearer(booking))
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code
    assert set(body) == {"code", "message", "errors"}
    assert body["message"]


def test_validate_does_the_same_database_work_for_every_code(
    client: Client, booking: str, django_assert_num_queries: Any
) -> None:
    voucher = redeemable_voucher()
    void = _void_code(redeemable_voucher())
    post(client, VALIDATE, {"code": voucher.code}, bearer(booking))  # stamps the token's last use (once a minute)
    for typed in (voucher.code, codes.generate_code(), mistyped(voucher.code), "nonsense", void):
        with django_assert_num_queries(2):  # the token, then one indexed lookup by code
            post(client, VALIDATE, {"code": typed}, bearer(booking))


def test_validate_needs_a_code(client: Client, booking: str) -> None:
    for body in ({}, {"code": ""}, {"code": "x" * 65}, ["not", "an", "object"]):
        response = post(client, VALIDATE, body, bearer(booking))
        assert response.status_code == 400, body
        assert response.json()["code"] == "invalid"


# --- who may call -----------------------------------------------------------------------------------------------
def test_tokens_need_the_redeem_scope(client: Client, reader: str) -> None:
    voucher = redeemable_voucher()
    ingest = api_token_create(name="Ops", scopes=["ingest", "read"])[1]
    for raw in (reader, ingest):
        assert post(client, VALIDATE, {"code": voucher.code}, bearer(raw)).status_code == 403
        response = redeem(client, raw, {"code": voucher.code, "amount": "10.00", "currency": "USD"})
        assert response.status_code == 403
        assert response.json() == {
            "code": "permission_denied",
            "message": "This token does not have the 'redeem' scope.",
            "errors": {},
        }
    assert state(voucher) == (Decimal("0.00"), "issued", 0)


def test_staff_validate_but_only_a_granted_person_redeems(rep_client: Client, coordinator_client: Client) -> None:
    voucher = redeemable_voucher()
    body = {"code": voucher.code, "amount": "10.00", "currency": "USD"}
    for staff in (rep_client, coordinator_client):
        assert post(staff, VALIDATE, {"code": voucher.code}).status_code == 200
        assert post(staff, REDEEM, body, {"Idempotency-Key": "desk-1"}).status_code == 403
    assert state(voucher) == (Decimal("0.00"), "issued", 0)

    cashier = UserFactory.create(is_staff=True)
    cashier.user_permissions.add(Permission.objects.get(codename="add_voucherredemption"))
    desk = Client()
    desk.force_login(cashier)
    response = post(desk, REDEEM, body, {"Idempotency-Key": "desk-1"})
    assert response.status_code == 200
    assert VoucherRedemption.objects.get().redeemed_by == cashier


def test_anonymous_callers_are_refused(client: Client) -> None:
    voucher = redeemable_voucher()
    assert post(client, VALIDATE, {"code": voucher.code}).status_code in (401, 403)
    assert post(client, REDEEM, {"code": voucher.code}, {"Idempotency-Key": "k"}).status_code in (401, 403)
    assert client.get(LIST).status_code in (401, 403)


# --- redeem ---------------------------------------------------------------------------------------------------
def test_redeem_then_replay_gives_the_same_answer_once(client: Client, booking: str) -> None:
    voucher = redeemable_voucher()
    body = {"code": voucher.code.lower(), "amount": "150.00", "currency": "usd", "booking_reference": "PNR123"}
    first = redeem(client, booking, body, key="7f9c2b1e")
    assert first.status_code == 200
    data = first.json()
    assert {k: v for k, v in data.items() if k not in ("redemption_id", "redeemed_at", "expires_at")} == {
        "code": voucher.code,
        "amount": "150.00",
        "currency": "USD",
        "balance": "0.00",
        "status": "redeemed",
        "booking_reference": "PNR123",
    }
    assert "Idempotent-Replayed" not in first.headers
    again = redeem(client, booking, body, key="7f9c2b1e")
    assert again.status_code == 200
    assert again.json() == data
    assert again.headers["Idempotent-Replayed"] == "true"
    assert state(voucher) == (Decimal("150.00"), "redeemed", 1)


def test_partial_redemptions_through_the_api(client: Client, booking: str) -> None:
    voucher = redeemable_voucher()
    answers = [
        redeem(client, booking, {"code": voucher.code, "amount": amount, "currency": "USD"}, key=f"k{n}").json()
        for n, amount in enumerate(("100", "49.99", "0.01"))
    ]
    assert [(a["balance"], a["status"]) for a in answers] == [
        ("50.00", "issued"),
        ("0.01", "issued"),
        ("0.00", "redeemed"),
    ]
    assert state(voucher) == (Decimal("150.00"), "redeemed", 3)


BAD_REDEEMS: list[tuple[str, dict[str, Any], str | None, int, str, str]] = [
    # (id, body changes, idempotency key, status, code, a phrase of the message or the field in error)
    ("no-key", {}, None, 400, "idempotency_key_missing", "Idempotency-Key"),
    ("long-key", {}, "k" * 101, 400, "idempotency_key_invalid", "1 to 100"),
    ("blank-key", {}, " ", 400, "idempotency_key_invalid", "1 to 100"),
    ("malformed", {"code": "HELLO-WORLD"}, "k", 400, "code_malformed", "not a voucher code"),
    ("mistyped", {"code": "mistyped"}, "k", 400, "code_mistyped", "typing mistake"),
    ("unknown", {"code": "unknown"}, "k", 404, "code_unknown", "No voucher has this code"),
    ("void", {"code": "void"}, "k", 409, "voucher_void", "cancelled"),
    ("expired", {"code": "expired"}, "k", 409, "voucher_expired", "expired on"),
    ("redeemed", {"code": "redeemed"}, "k", 409, "voucher_redeemed", "used in full"),
    ("wrong-currency", {"currency": "EUR"}, "k", 400, "currency_mismatch", "is in USD, not EUR"),
    ("bad-currency", {"currency": "U$D"}, "k", 400, "invalid", "currency"),
    ("zero", {"amount": "0.00"}, "k", 400, "invalid", "amount"),
    ("negative", {"amount": "-10.00"}, "k", 400, "invalid", "amount"),
    ("three-decimals", {"amount": "10.005"}, "k", 400, "invalid", "amount"),
    ("not-a-number", {"amount": "ten"}, "k", 400, "invalid", "amount"),
    ("nan", {"amount": "NaN"}, "k", 400, "invalid", "amount"),
    ("too-large", {"amount": "123456789.00"}, "k", 400, "invalid", "amount"),
    ("over-value", {"amount": "150.01"}, "k", 400, "amount_exceeds_value", "more than this voucher's value"),
    ("over-balance", {"code": "part-used", "amount": "60.00"}, "k", 409, "insufficient_balance", "50.00 USD left"),
    ("key-reused", {"amount": "20.00"}, "used-key", 422, "idempotency_conflict", "different redemption"),
    ("no-amount", {"amount": None}, "k", 400, "invalid", "amount"),
    ("long-booking", {"booking_reference": "B" * 65}, "k", 400, "invalid", "booking_reference"),
]


@pytest.mark.parametrize(
    ("changes", "key", "status", "code", "phrase"),
    [case[1:] for case in BAD_REDEEMS],
    ids=[case[0] for case in BAD_REDEEMS],
)
def test_every_bad_redemption_gets_its_answer_and_changes_nothing(
    client: Client, booking: str, changes: dict[str, Any], key: str | None, status: int, code: str, phrase: str
) -> None:
    voucher = redeemable_voucher()
    # The voucher the request names, made bad in the way the case says.
    target = redeemable_voucher()
    redeem(client, booking, {"code": target.code, "amount": "100.00", "currency": "USD"}, key="used-key")
    codes_by_kind = {
        "mistyped": mistyped(voucher.code),
        "unknown": codes.generate_code(),
        "void": _void_code(redeemable_voucher()),
        "expired": _expired_code(redeemable_voucher()),
        "redeemed": _used_code(redeemable_voucher()),
        "part-used": target.code,
    }
    body = {"code": voucher.code, "amount": "10.00", "currency": "USD", "booking_reference": "PNR1", **changes}
    body["code"] = codes_by_kind.get(body["code"], body["code"])
    body = {field: value for field, value in body.items() if value is not None}
    before = [state(v) for v in Voucher.objects.order_by("pk")]
    response = redeem(client, booking, body, key=key)
    assert response.status_code == status, response.json()
    answer = response.json()
    assert answer["code"] == code
    assert phrase in answer["message"] or phrase in answer["errors"], answer
    assert [state(v) for v in Voucher.objects.order_by("pk")] == before


def test_malformed_json_is_a_400(client: Client, booking: str) -> None:
    response = post(client, REDEEM, "{not json", bearer(booking, **{"Idempotency-Key": "k"}))
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert not VoucherRedemption.objects.exists()


# --- throttling -------------------------------------------------------------------------------------------------
def test_repeated_unknown_codes_are_throttled_but_successes_and_real_refusals_are_not(
    client: Client, booking: str, settings: Any
) -> None:
    settings.VOUCHER_FAILED_LOOKUPS_ALLOWED = 3
    voucher = redeemable_voucher()
    used = _used_code(redeemable_voucher())
    for n in range(5):  # neither successes nor refusals of a real voucher count
        assert post(client, VALIDATE, {"code": voucher.code}, bearer(booking)).status_code == 200
        assert post(client, VALIDATE, {"code": used}, bearer(booking)).status_code == 409
        redeemed = redeem(client, booking, {"code": voucher.code, "amount": "1.00", "currency": "USD"}, key=f"ok{n}")
        assert redeemed.status_code == 200
    wrong = [codes.generate_code(), mistyped(voucher.code), "nonsense"]
    statuses = [post(client, VALIDATE, {"code": code}, bearer(booking)).status_code for code in wrong]
    assert statuses == [404, 400, 400]

    # The limit is reached: every further call from this token waits, even with a good code, and nothing moves.
    for response in (
        post(client, VALIDATE, {"code": voucher.code}, bearer(booking)),
        redeem(client, booking, {"code": voucher.code, "amount": "1.00", "currency": "USD"}, key="late"),
    ):
        assert response.status_code == 429
        assert response.json()["code"] == "throttled"
        assert "Too many unknown or mistyped voucher codes" in response.json()["message"]
        assert 0 < int(response.headers["Retry-After"]) <= 600
    assert state(voucher)[0] == Decimal("5.00")

    other = api_token_create(name="Second booking engine", scopes=["redeem"])[1]
    assert post(client, VALIDATE, {"code": voucher.code}, bearer(other)).status_code == 200


def test_failed_redemptions_count_too(client: Client, booking: str, settings: Any) -> None:
    settings.VOUCHER_FAILED_LOOKUPS_ALLOWED = 2
    body = {"code": codes.generate_code(), "amount": "1.00", "currency": "USD"}
    statuses = [redeem(client, booking, body, key=f"k{n}").status_code for n in range(3)]
    assert statuses == [404, 404, 429]


# --- read -----------------------------------------------------------------------------------------------------
def test_list_shows_the_figures_but_no_personal_data(client: Client, reader: str) -> None:
    voucher = redeemable_voucher()
    response = client.get(LIST, headers=bearer(reader))
    assert response.status_code == 200
    (item,) = response.json()["results"]
    assert item == {
        "id": voucher.pk,
        "code": voucher.code,
        "amount": "150.00",
        "redeemed_amount": "0.00",
        "balance": "150.00",
        "currency": "USD",
        "status": "issued",
        "issued_at": item["issued_at"],
        "expires_at": voucher.expires_at.isoformat().replace("+00:00", "Z"),
        "redeemed_at": None,
        "incident_reference": voucher.incident.reference if voucher.incident else None,
        "customer_ref": voucher.customer.external_ref,
    }
    text = response.content.decode()
    assert voucher.customer.name not in text
    assert voucher.customer.email not in text


def test_list_filters_without_extra_queries(client: Client, reader: str, django_assert_max_num_queries: Any) -> None:
    blizzard = IncidentFactory.create()
    theirs = [redeemable_voucher(affected=AffectedCustomerFactory.create(incident=blizzard)) for _ in range(3)]
    others = [redeemable_voucher() for _ in range(2)]
    vouchers_void(voucher_ids=[theirs[0].pk], actor=SystemActor("finance desk"), reason="Duplicate")

    def ids(query: str) -> list[int]:
        return [item["id"] for item in client.get(f"{LIST}?{query}", headers=bearer(reader)).json()["results"]]

    assert ids(f"incident={blizzard.pk}") == [v.pk for v in theirs]
    assert ids(f"incident_reference={blizzard.reference}") == [v.pk for v in theirs]
    assert ids(f"incident_reference={blizzard.reference}&status=void") == [theirs[0].pk]
    assert ids(f"customer_ref={others[1].customer.external_ref}") == [others[1].pk]
    assert ids("ordering=-id") == sorted((v.pk for v in theirs + others), reverse=True)

    client.get(LIST, headers=bearer(reader))  # the token's last-used stamp is written once a minute, not now
    with django_assert_max_num_queries(2):  # the token, then one query for the page: no N+1 on incident/customer
        page = client.get(f"{LIST}?page_size=3", headers=bearer(reader)).json()
    assert len(page["results"]) == 3


def test_list_pages_are_cursor_pages_in_id_order(client: Client, reader: str) -> None:
    made = [redeemable_voucher().pk for _ in range(5)]
    pages: list[list[int]] = []
    url: str | None = f"{LIST}?page_size=2"
    while url:
        body = client.get(url, headers=bearer(reader)).json()
        pages.append([item["id"] for item in body["results"]])
        url = body["next"]
    assert pages == [made[0:2], made[2:4], made[4:5]]


def test_detail_and_who_may_read(client: Client, reader: str, booking: str, rep_client: Client) -> None:
    voucher = redeemable_voucher()
    detail = f"{LIST}{voucher.pk}/"
    assert client.get(detail, headers=bearer(reader)).json()["code"] == voucher.code
    assert rep_client.get(detail).status_code == 200
    assert rep_client.get(LIST).status_code == 200
    assert client.get(f"{LIST}{voucher.pk + 1000}/", headers=bearer(reader)).json()["code"] == "not_found"
    assert client.get(LIST, headers=bearer(booking)).status_code == 403  # redeem is not read
    # Nobody writes through the read endpoints.
    assert client.delete(detail, headers=bearer(reader)).status_code == 403
    assert rep_client.patch(detail, {"status": "void"}, content_type="application/json").status_code == 403
    assert Voucher.objects.get(pk=voucher.pk).status == "issued"


def test_the_schema_documents_the_voucher_endpoints() -> None:
    out = io.StringIO()
    call_command("spectacular", "--validate", "--api-version", "v1", stdout=out, stderr=io.StringIO())
    schema = out.getvalue()
    for path in ("vouchers/:", "vouchers/{id}/:", "vouchers/validate:", "vouchers/redeem:"):
        assert f"/api/v1/{path}" in schema
    assert "name: Idempotency-Key" in schema
