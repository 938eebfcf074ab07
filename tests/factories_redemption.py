"""Vouchers with real codes, for the redemption and voucher API tests."""

from __future__ import annotations

from typing import Any

from tests.factories import VoucherFactory
from vouchers.codes import generate_code
from vouchers.models import Voucher


def redeemable_voucher(**fields: Any) -> Voucher:
    """An issued voucher with a genuine code (check symbol and all), worth 150.00 USD unless told otherwise.

    No compensation rule: these tests are about the code and the money, not about the policy that awarded it.
    """
    fields.setdefault("rule", None)
    return VoucherFactory.create(code=generate_code(), **fields)
