"""The finance export of vouchers, live codes included: who exported what is audited, never the codes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from care.core.actors import Person
from care.core.audit import MASK, audit_record
from vouchers.models import Voucher

EXPORT_COLUMNS = (
    ("voucher_id", "pk"),
    ("code", "code"),
    ("status", "status"),
    ("currency", "currency"),
    ("amount", "amount"),
    ("redeemed_amount", "redeemed_amount"),
    ("incident", "incident__reference"),
    ("customer_ref", "customer__external_ref"),
    ("rule", "rule__slug"),
    ("issued_at", "issued_at"),
    ("expires_at", "expires_at"),
    ("redeemed_at", "redeemed_at"),
    ("voided_at", "voided_at"),
    ("void_reason", "void_reason"),
    ("in_lieu_of", "in_lieu_of"),
)


def _filter_on_record(filters: Mapping[str, str]) -> dict[str, str]:
    # The search term may be a voucher code, whole or mistyped (the changelist finds vouchers by code), so it
    # is never recorded, whatever it looks like: that a search narrowed the export is recorded.
    return {key: MASK if key == "q" and value else value for key, value in sorted(filters.items())}


def vouchers_export(
    *, queryset: QuerySet[Voucher], actor: Person, filters: Mapping[str, str]
) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    """The header and rows of the vouchers ``queryset`` selects, for finance; who exported what is audited.

    The file carries live codes (bearer value): the audit entry records who, how many, of which incidents and
    with which filter, never a code.
    """
    with transaction.atomic():
        incidents = sorted(
            reference
            for reference in queryset.order_by().values_list("incident__reference", flat=True).distinct()
            if reference
        )
        audit_record(
            actor=actor,
            action="voucher_codes.export",
            target=None,
            details={
                "count": queryset.order_by().count(),
                "incidents": incidents[:50],
                "incident_count": len(incidents),
                "filter": _filter_on_record(filters),
            },
        )
    rows = queryset.order_by("pk").values_list(*(column for _header, column in EXPORT_COLUMNS))
    return [header for header, _column in EXPORT_COLUMNS], rows.iterator(chunk_size=2000)
