"""Validating and redeeming voucher codes (vouchers.redemption), one request at a time.

The concurrent cases are in test_voucher_redemption_race.py, the HTTP API in test_voucher_api.py.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from care.core.actors import SystemActor
from care.core.api.models import ApiToken
from care.core.api.tokens import api_token_create
from tests.factories import UserFactory
from tests.factories_redemption import redeemable_voucher
from vouchers import codes
from vouchers.models import Voucher, VoucherRedemption, VoucherStatus, VoucherStatusChange
from vouchers.redemption import Refusal, VoucherRefused, voucher_redeem, voucher_validate
from vouchers.services import vouchers_void

pytestmark = pytest.mark.django_db


@pytest.fixture
def token() -> ApiToken:
    return api_token_create(name="Booking engine", scopes=["redeem"])[0]


def mistyped(code: str) -> str:
    """The code with one symbol changed: the check symbol catches every single substitution."""
    first = code[0]
    return ("1" if first != "1" else "2") + code[1:]


def unknown_code() -> str:
    """A well-formed code (right check symbol) that no voucher has."""
    return codes.generate_code()


def snapshot(voucher: Voucher) -> tuple[Any, ...]:
    voucher.refresh_from_db()
    return (
        voucher.redeemed_amount,
        voucher.status,
        voucher.redeemed_at,
        VoucherRedemption.objects.filter(voucher=voucher).count(),
        VoucherStatusChange.objects.filter(voucher=voucher).count(),
    )


def redeem(voucher_code: str, *, token: ApiToken, amount: str = "150.00", key: str = "k1", **kwargs: Any) -> Any:
    return voucher_redeem(
        code=voucher_code,
        amount=Decimal(amount),
        currency=kwargs.pop("currency", "USD"),
        idempotency_key=key,
        token=token,
        **kwargs,
    )


# --- validate -------------------------------------------------------------------------------------------------
def test_validate_reads_a_code_typed_any_way() -> None:
    voucher = redeemable_voucher()
    typed = voucher.code.lower().replace("-", " ")
    result = voucher_validate(code=f"  {typed} ")
    assert result.redeemable
    assert (result.code, result.status, result.amount, result.balance, result.currency, result.expires_at) == (
        voucher.code,
        "issued",
        Decimal("150.00"),
        Decimal("150.00"),
        "USD",
        voucher.expires_at,
    )


@pytest.mark.parametrize(
    ("make_code", "refusal", "message"),
    [
        (lambda v: "HELLO", Refusal.CODE_MALFORMED, "That is not a voucher code."),
        (lambda v: v.code + "7", Refusal.CODE_MALFORMED, "seventeen letters and digits"),
        (lambda v: v.code.replace(v.code[0], "U", 1), Refusal.CODE_MALFORMED, "That is not a voucher code."),
        (lambda v: mistyped(v.code), Refusal.CODE_MISTYPED, "typing mistake"),
        (lambda v: unknown_code(), Refusal.CODE_UNKNOWN, "No voucher has this code"),
    ],
    ids=["garbage", "too-long", "letter-u", "mistyped", "unknown"],
)
def test_validate_tells_a_wrong_code_apart(make_code: Any, refusal: Refusal, message: str) -> None:
    voucher = redeemable_voucher()
    result = voucher_validate(code=make_code(voucher))
    assert result.refusal is refusal
    assert message in result.message
    assert result.amount is None
    assert result.balance is None
    with pytest.raises(VoucherRefused) as raised:
        result.raise_if_refused()
    assert raised.value.refusal is refusal


def test_validate_refuses_void_redeemed_and_expired_vouchers(token: ApiToken) -> None:
    void = redeemable_voucher()
    vouchers_void(voucher_ids=[void.pk], actor=SystemActor("finance desk"), reason="Issued twice by mistake")
    used = redeemable_voucher()
    redeem(used.code, token=token)
    expired = redeemable_voucher(status=VoucherStatus.EXPIRED)
    for voucher, refusal, message in (
        (void, Refusal.VOUCHER_VOID, "cancelled by customer care"),
        (used, Refusal.VOUCHER_REDEEMED, "already been used in full"),
        (expired, Refusal.VOUCHER_EXPIRED, "expired on"),
    ):
        result = voucher_validate(code=voucher.code)
        assert result.refusal is refusal, voucher
        assert message in result.message
        assert result.code == voucher.code
    assert "Issued twice" not in voucher_validate(code=void.code).message  # the internal reason stays inside


def test_validate_refuses_a_voucher_past_expiry_before_the_expiry_task_ran() -> None:
    voucher = redeemable_voucher()
    later = voucher.expires_at + timedelta(seconds=1)
    result = voucher_validate(code=voucher.code, now=later)
    assert result.refusal is Refusal.VOUCHER_EXPIRED
    assert result.status == "expired"
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.ISSUED  # validating changes nothing


def test_every_kind_of_code_costs_the_same_single_lookup(django_assert_num_queries: Any, token: ApiToken) -> None:
    valid = redeemable_voucher()
    void = redeemable_voucher(status=VoucherStatus.VOID)
    expired = redeemable_voucher(expires_at=timezone.now() + timedelta(seconds=5))
    later = timezone.now() + timedelta(minutes=1)
    for typed in ("HELLO", mistyped(valid.code), unknown_code(), void.code, expired.code, valid.code):
        with django_assert_num_queries(1):
            voucher_validate(code=typed, now=later if typed == expired.code else None)


# --- redeem ---------------------------------------------------------------------------------------------------
def test_full_redemption_marks_the_voucher_redeemed_and_audits_it(token: ApiToken) -> None:
    voucher = redeemable_voucher()
    result = redeem(voucher.code.lower(), token=token, booking_reference="ABC123")
    assert (result.code, result.amount, result.balance, result.status, result.replayed) == (
        voucher.code,
        Decimal("150.00"),
        Decimal("0.00"),
        "redeemed",
        False,
    )
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.REDEEMED
    assert voucher.redeemed_amount == Decimal("150.00")
    assert voucher.redeemed_at == result.redeemed_at
    redemption = VoucherRedemption.objects.get(voucher=voucher)
    assert (redemption.token, redemption.idempotency_key, redemption.booking_reference) == (token, "k1", "ABC123")
    change = VoucherStatusChange.objects.get(voucher=voucher)
    assert (change.from_status, change.to_status) == ("issued", "redeemed")
    assert token.key_prefix in change.actor_label
    assert "ABC123" in change.note


def test_partial_redemptions_add_up_to_the_value(token: ApiToken) -> None:
    voucher = redeemable_voucher()
    first = redeem(voucher.code, token=token, amount="40.00", key="a")
    assert (first.balance, first.status) == (Decimal("110.00"), "issued")
    voucher.refresh_from_db()
    assert (voucher.status, voucher.redeemed_amount, voucher.redeemed_at) == ("issued", Decimal("40.00"), None)
    assert not VoucherStatusChange.objects.filter(voucher=voucher).exists()  # no status change yet
    assert voucher_validate(code=voucher.code).balance == Decimal("110.00")

    second = redeem(voucher.code, token=token, amount="110.00", key="b")
    assert (second.balance, second.status) == (Decimal("0.00"), "redeemed")
    voucher.refresh_from_db()
    assert (voucher.status, voucher.redeemed_amount) == ("redeemed", Decimal("150.00"))
    assert VoucherRedemption.objects.filter(voucher=voucher).count() == 2
    assert VoucherStatusChange.objects.filter(voucher=voucher).count() == 1


def test_the_same_key_replays_the_first_answer_and_redeems_once(token: ApiToken) -> None:
    voucher = redeemable_voucher()
    first = redeem(voucher.code, token=token, amount="40.00", key="retry-me")
    redeem(voucher.code, token=token, amount="110.00", key="the-rest")  # the voucher is used up now
    again = redeem(voucher.code.lower(), token=token, amount="40", key="retry-me")
    assert again.replayed
    assert {**again.__dict__, "replayed": False} == first.__dict__  # the first answer, balance then included
    voucher.refresh_from_db()
    assert voucher.redeemed_amount == Decimal("150.00")
    assert VoucherRedemption.objects.filter(voucher=voucher).count() == 2


def test_a_replay_is_answered_after_the_voucher_expired(token: ApiToken) -> None:
    voucher = redeemable_voucher()
    first = redeem(voucher.code, token=token)
    again = redeem(voucher.code, token=token, now=voucher.expires_at + timedelta(days=1))
    assert again.redemption_id == first.redemption_id
    assert again.replayed


@pytest.mark.parametrize(
    "change",
    [{"amount": "50.00"}, {"currency": "EUR"}, {"booking_reference": "OTHER1"}, {"code": "other"}],
    ids=["amount", "currency", "booking", "code"],
)
def test_a_key_reused_for_a_different_redemption_is_refused(token: ApiToken, change: dict[str, str]) -> None:
    voucher = redeemable_voucher()
    other = redeemable_voucher()
    redeem(voucher.code, token=token, amount="40.00", booking_reference="BOOK01")
    before, other_before = snapshot(voucher), snapshot(other)
    arguments = {"amount": "40.00", "booking_reference": "BOOK01", **change}
    code = other.code if arguments.pop("code", None) else voucher.code
    with pytest.raises(VoucherRefused) as raised:
        redeem(code, token=token, **arguments)
    assert raised.value.refusal is Refusal.IDEMPOTENCY_CONFLICT
    assert "Use a new key" in str(raised.value)
    assert snapshot(voucher) == before
    assert snapshot(other) == other_before


def test_keys_belong_to_one_token_or_one_user(token: ApiToken) -> None:
    voucher = redeemable_voucher()
    other_token = api_token_create(name="Call-centre tool", scopes=["redeem"])[0]
    staff = UserFactory.create()
    redeem(voucher.code, token=token, amount="10.00", key="same")
    redeem(voucher.code, token=other_token, amount="10.00", key="same")
    voucher_redeem(code=voucher.code, amount=Decimal("10.00"), currency="USD", idempotency_key="same", user=staff)
    assert VoucherRedemption.objects.filter(voucher=voucher).count() == 3
    assert VoucherRedemption.objects.get(redeemed_by=staff).token is None


def test_who_redeems_must_be_said_once(token: ApiToken) -> None:
    voucher = redeemable_voucher()
    who_options: list[dict[str, Any]] = [{}, {"token": token, "user": UserFactory.create()}]
    for who in who_options:
        with pytest.raises(ValueError, match="exactly one"):
            voucher_redeem(code=voucher.code, amount=Decimal("1"), currency="USD", idempotency_key="k", **who)


def _void(voucher: Voucher) -> str:
    vouchers_void(voucher_ids=[voucher.pk], actor=SystemActor("finance desk"), reason="Duplicate")
    return voucher.code


def _used(voucher: Voucher, token: ApiToken) -> str:
    redeem(voucher.code, token=token, key="earlier")
    return voucher.code


def _part_used(voucher: Voucher, token: ApiToken) -> str:
    redeem(voucher.code, token=token, amount="100.00", key="earlier")
    return voucher.code


BAD_REDEMPTIONS: list[tuple[str, Any, dict[str, Any], Refusal, str]] = [
    ("malformed", lambda v, t: "1234", {}, Refusal.CODE_MALFORMED, "That is not a voucher code"),
    ("mistyped", lambda v, t: mistyped(v.code), {}, Refusal.CODE_MISTYPED, "typing mistake"),
    ("unknown", lambda v, t: unknown_code(), {}, Refusal.CODE_UNKNOWN, "No voucher has this code"),
    ("void", lambda v, t: _void(v), {}, Refusal.VOUCHER_VOID, "cancelled"),
    ("used", _used, {}, Refusal.VOUCHER_REDEEMED, "already been used in full"),
    (
        "expired",
        lambda v, t: v.code,
        {"now": timezone.now() + timedelta(days=400)},
        Refusal.VOUCHER_EXPIRED,
        "expired on",
    ),
    ("wrong-currency", lambda v, t: v.code, {"currency": "EUR"}, Refusal.CURRENCY_MISMATCH, "is in USD, not EUR"),
    ("bad-currency", lambda v, t: v.code, {"currency": "US"}, Refusal.CURRENCY_INVALID, "3-letter"),
    ("zero", lambda v, t: v.code, {"amount": "0"}, Refusal.AMOUNT_INVALID, "more than zero"),
    ("negative", lambda v, t: v.code, {"amount": "-5.00"}, Refusal.AMOUNT_INVALID, "more than zero"),
    ("three-decimals", lambda v, t: v.code, {"amount": "10.005"}, Refusal.AMOUNT_INVALID, "2 decimal places"),
    ("not-a-number", lambda v, t: v.code, {"amount": "NaN"}, Refusal.AMOUNT_INVALID, "more than zero"),
    ("huge", lambda v, t: v.code, {"amount": "1E+12"}, Refusal.AMOUNT_INVALID, "at most"),
    ("over-value", lambda v, t: v.code, {"amount": "150.01"}, Refusal.AMOUNT_EXCEEDS_VALUE, "more than this"),
    ("over-balance", _part_used, {"amount": "60.00"}, Refusal.INSUFFICIENT_BALANCE, "has 50.00 USD left"),
    ("empty-key", lambda v, t: v.code, {"key": ""}, Refusal.IDEMPOTENCY_KEY_INVALID, "1 to 100"),
    ("blank-key", lambda v, t: v.code, {"key": "   "}, Refusal.IDEMPOTENCY_KEY_INVALID, "1 to 100"),
    ("long-key", lambda v, t: v.code, {"key": "k" * 101}, Refusal.IDEMPOTENCY_KEY_INVALID, "1 to 100"),
    (
        "long-booking",
        lambda v, t: v.code,
        {"booking_reference": "B" * 65},
        Refusal.BOOKING_REFERENCE_INVALID,
        "at most 64",
    ),
]


@pytest.mark.parametrize(
    ("make_code", "arguments", "refusal", "message"),
    [case[1:] for case in BAD_REDEMPTIONS],
    ids=[case[0] for case in BAD_REDEMPTIONS],
)
def test_every_bad_redemption_is_refused_precisely_and_changes_nothing(
    token: ApiToken, make_code: Any, arguments: dict[str, Any], refusal: Refusal, message: str
) -> None:
    voucher = redeemable_voucher()
    code = make_code(voucher, token)
    before = snapshot(voucher)
    redemptions = VoucherRedemption.objects.count()
    with pytest.raises(VoucherRefused) as raised:
        redeem(code, token=token, **{"key": "k1", "amount": "50.00", **arguments})
    assert raised.value.refusal is refusal
    assert message in str(raised.value)
    assert snapshot(voucher) == before
    assert VoucherRedemption.objects.count() == redemptions


def test_a_refused_request_can_be_retried_with_the_same_key_once_it_is_right(token: ApiToken) -> None:
    voucher = redeemable_voucher()
    with pytest.raises(VoucherRefused):
        redeem(voucher.code, token=token, currency="EUR", key="once")
    assert redeem(voucher.code, token=token, key="once").status == "redeemed"  # failures store nothing


def test_unknown_codes_cost_the_same_queries_as_refused_real_ones(token: ApiToken) -> None:
    void = redeemable_voucher(status=VoucherStatus.VOID)
    expired = redeemable_voucher(status=VoucherStatus.EXPIRED)
    real = redeemable_voucher()
    shapes: dict[str, list[str]] = {}
    for typed in ("HELLO", mistyped(real.code), unknown_code(), void.code, expired.code):
        with CaptureQueriesContext(connection) as queries, pytest.raises(VoucherRefused):
            redeem(typed, token=token, amount="10.00")
        # The statements without their parameters and savepoint names: the same, in the same order, for every kind.
        shapes[typed] = [re.sub(r'"s\d+_x\d+"', "sp", query["sql"].split(" WHERE ")[0]) for query in queries]
    assert all(shape == shapes["HELLO"] for shape in shapes.values()), shapes
    voucher_lookups = [query["sql"] for query in queries if query["sql"].startswith('SELECT "vouchers_voucher"')]
    assert len(voucher_lookups) == 1
    # The row lock (SQLite has none: it serialises writers on the whole database instead).
    assert voucher_lookups[0].endswith("FOR UPDATE") is connection.features.has_select_for_update
