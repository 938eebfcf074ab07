"""Redemption under contention, on PostgreSQL, through the HTTP API with real threads (one connection each).

Proven here (issue 5, "Race-free"):
- 50 concurrent full redemptions of one code: exactly one 200, 49 clear 409s, the voucher redeemed once;
- 50 concurrent partial redemptions: never more than the voucher's value, every success accounted for;
- 50 concurrent retries with one idempotency key: one redemption, and all 50 get the same successful answer
  (the voucher lock makes the later ones wait for the first and then replay it; none gets "in progress");
- one idempotency key raced across two vouchers: one redemption in all; the loser's side gets 422.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from care.core.api.tokens import api_token_create
from tests.factories_redemption import redeemable_voucher
from tests.sweep_harness import run_threads
from vouchers.models import Voucher, VoucherRedemption, VoucherStatusChange

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
]

THREADS = 50
REDEEM = "/api/v1/vouchers/redeem"


@pytest.fixture(autouse=True)
def _fresh_failure_counts() -> Any:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def booking() -> str:
    return api_token_create(name="Booking engine", scopes=["redeem"])[1]


def race(raw: str, requests: list[tuple[dict[str, Any], str]]) -> list[tuple[int, dict[str, Any], bool]]:
    """POST every (body, idempotency key) at once, one thread and connection each; (status, body, replayed)."""
    answers: list[tuple[int, dict[str, Any], bool]] = []
    lock = threading.Lock()

    def worker(body: dict[str, Any], key: str) -> Any:
        def work() -> None:
            response = Client().post(
                REDEEM,
                json.dumps(body),
                content_type="application/json",
                headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": key},
            )
            with lock:
                answers.append((response.status_code, response.json(), "Idempotent-Replayed" in response.headers))

        return work

    started = time.perf_counter()
    errors = run_threads([worker(body, key) for body, key in requests])
    print(f"\n{len(requests)} concurrent redemptions answered in {time.perf_counter() - started:.2f}s")
    assert errors == []
    assert len(answers) == len(requests)
    return answers


def test_fifty_full_redemptions_of_one_code_succeed_once(booking: str) -> None:
    voucher = redeemable_voucher()
    body = {"code": voucher.code, "amount": "150.00", "currency": "USD"}
    answers = race(booking, [(body, f"attempt-{n}") for n in range(THREADS)])

    assert Counter(status for status, _, _ in answers) == {200: 1, 409: THREADS - 1}
    refusals = [answer for status, answer, _ in answers if status == 409]
    assert {(a["code"], a["message"]) for a in refusals} == {
        ("voucher_redeemed", "This voucher has already been used in full.")
    }
    voucher.refresh_from_db()
    assert (voucher.status, voucher.redeemed_amount) == ("redeemed", Decimal("150.00"))
    assert VoucherRedemption.objects.filter(voucher=voucher).count() == 1
    assert VoucherStatusChange.objects.filter(voucher=voucher).count() == 1


def test_fifty_partial_redemptions_never_exceed_the_value(booking: str) -> None:
    voucher = redeemable_voucher()
    body = {"code": voucher.code, "amount": "10.00", "currency": "USD"}
    answers = race(booking, [(body, f"part-{n}") for n in range(THREADS)])

    successes = [answer for status, answer, _ in answers if status == 200]
    assert len(successes) == 15  # 150.00 / 10.00
    # Each success saw the balance the one before it left: 140, 130, ..., 0, each exactly once.
    assert sorted(Decimal(a["balance"]) for a in successes) == [Decimal(10 * n) for n in range(15)]
    assert {a["code"] for status, a, _ in answers if status != 200} == {"voucher_redeemed"}
    voucher.refresh_from_db()
    assert (voucher.status, voucher.redeemed_amount) == ("redeemed", Decimal("150.00"))
    assert VoucherRedemption.objects.filter(voucher=voucher).count() == 15


def test_fifty_retries_with_one_key_redeem_once_and_all_get_the_same_answer(booking: str) -> None:
    voucher = redeemable_voucher()
    body = {"code": voucher.code, "amount": "60.00", "currency": "USD", "booking_reference": "PNR777"}
    answers = race(booking, [(body, "the-same-key")] * THREADS)

    assert {status for status, _, _ in answers} == {200}
    assert len({json.dumps(answer, sort_keys=True) for _, answer, _ in answers}) == 1
    assert sum(not replayed for _, _, replayed in answers) == 1  # one did the work, 49 replayed it
    redemption = VoucherRedemption.objects.get(voucher=voucher)
    assert answers[0][1]["redemption_id"] == redemption.pk
    voucher.refresh_from_db()
    assert (voucher.status, voucher.redeemed_amount) == ("issued", Decimal("60.00"))


def test_one_key_raced_across_two_vouchers_redeems_one(booking: str) -> None:
    first, second = redeemable_voucher(), redeemable_voucher()
    requests = [
        ({"code": voucher.code, "amount": "25.00", "currency": "USD"}, "shared-key")
        for voucher in (first, second) * (THREADS // 2)
    ]
    answers = race(booking, requests)

    (redemption,) = VoucherRedemption.objects.all()
    winner = redemption.voucher.code
    for status, answer, _ in answers:
        if status == 200:
            assert answer["code"] == winner
        else:
            assert (status, answer["code"]) == (422, "idempotency_conflict")
    assert Counter(status for status, _, _ in answers) == {200: THREADS // 2, 422: THREADS // 2}
    assert sorted(Voucher.objects.values_list("redeemed_amount", flat=True)) == [Decimal("0.00"), Decimal("25.00")]
