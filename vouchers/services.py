"""Every write that matters to vouchers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from care.errors import DomainError
from care.lifecycle import move_batch
from vouchers.models import VOUCHER_LIFECYCLE, Voucher, VoucherStatus, VoucherStatusChange


def vouchers_void(*, voucher_ids: Iterable[int], actor: Any, reason: str) -> int:
    """Void issued vouchers (all or none); the reason is kept on the voucher and in its audit trail."""
    if not reason.strip():
        raise DomainError("Give a reason for voiding: finance and the customer's rep will read it.")
    return move_batch(
        queryset=Voucher.objects.all(),
        ids=voucher_ids,
        target=VoucherStatus.VOID,
        lifecycle=VOUCHER_LIFECYCLE,
        audit_model=VoucherStatusChange,
        audit_fk="voucher",
        verb="void",
        noun="vouchers",
        actor=actor,
        note=reason.strip(),
        changes={"voided_at": timezone.now(), "void_reason": reason.strip()},
        hint="Redeemed or expired vouchers cannot be voided.",
    )
