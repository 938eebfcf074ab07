"""The vouchers section: the vouchers the customer was given, with their value and expiry in their own terms."""

from __future__ import annotations

from collections.abc import Iterable

from care.correspondence.rendering.formatting import LetterFormats, money_text
from vouchers.models import Voucher


def voucher_section(vouchers: Iterable[Voucher], *, formats: LetterFormats) -> list[dict[str, str]]:
    """``value`` is worded for the letter's language; ``amount`` and ``currency`` are left plain for templates
    that word it themselves. A voucher expires on the date it is in the customer's zone."""
    return [
        {
            "code": voucher.code,
            "value": money_text(voucher.balance, voucher.currency),
            "amount": f"{voucher.balance:.2f}",
            "currency": voucher.currency,
            "expires": formats.date(voucher.expires_at.astimezone(formats.zone).date()),
        }
        for voucher in vouchers
    ]
