"""Liability and redemption of issued vouchers: what is still outstanding per currency, and per incident the
issued, redeemed, void and expired counts and value; and incidents' references for those reports."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from incidents.models import Incident
from vouchers.models import Voucher, VoucherStatus


@dataclass(frozen=True)
class IncidentVoucherSummary:
    incident_id: int
    issued: int  # every voucher ever issued for the incident
    redeemed: int  # fully or partly redeemed, and not void
    void: int
    expired: int
    outstanding: dict[str, Decimal]  # per currency: issued and not yet redeemed or expired (balance)
    value: dict[str, Decimal]  # per currency: face value of every voucher not void

    @property
    def redemption_rate(self) -> float | None:
        """Share of the vouchers not void that have been (at least partly) redeemed."""
        base = self.issued - self.void
        return None if base <= 0 else self.redeemed / base


def outstanding_liability(*, incident_id: int | None = None, now: dt.datetime | None = None) -> dict[str, Decimal]:
    """Per currency, what issued vouchers are still worth (amount - redeemed) and not past expiry. One query."""
    moment = now or timezone.now()
    rows = Voucher.objects.filter(status=VoucherStatus.ISSUED, expires_at__gt=moment)
    if incident_id is not None:
        rows = rows.filter(incident_id=incident_id)
    return {
        row["currency"]: (row["amount"] or Decimal(0)) - (row["redeemed"] or Decimal(0))
        for row in rows.order_by("currency")
        .values("currency")
        .annotate(amount=Sum("amount"), redeemed=Sum("redeemed_amount"))
    }


def incident_voucher_summaries(
    *, incident_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> list[IncidentVoucherSummary]:
    """Issued, redeemed, void and expired counts, outstanding liability and value per incident. Two queries."""
    moment = now or timezone.now()
    rows = Voucher.objects.filter(incident__isnull=False)
    if incident_ids is not None:
        rows = rows.filter(incident_id__in=list(incident_ids))
    counts = (
        rows.order_by("incident_id")
        .values("incident_id")
        .annotate(
            issued=Count("pk"),
            redeemed=Count("pk", filter=Q(redeemed_amount__gt=0) & ~Q(status=VoucherStatus.VOID)),
            void=Count("pk", filter=Q(status=VoucherStatus.VOID)),
            expired=Count("pk", filter=Q(status=VoucherStatus.EXPIRED)),
        )
    )
    money = (
        rows.order_by("incident_id", "currency")
        .values("incident_id", "currency")
        .annotate(
            outstanding=Sum("amount", filter=Q(status=VoucherStatus.ISSUED, expires_at__gt=moment))
            - Sum("redeemed_amount", filter=Q(status=VoucherStatus.ISSUED, expires_at__gt=moment)),
            value=Sum("amount", filter=~Q(status=VoucherStatus.VOID)),
        )
    )
    outstanding: dict[int, dict[str, Decimal]] = defaultdict(dict)
    value: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for row in money:
        if row["outstanding"]:
            outstanding[row["incident_id"]][row["currency"]] = row["outstanding"]
        if row["value"]:
            value[row["incident_id"]][row["currency"]] = row["value"]
    return [
        IncidentVoucherSummary(
            incident_id=row["incident_id"],
            issued=row["issued"],
            redeemed=row["redeemed"],
            void=row["void"],
            expired=row["expired"],
            outstanding=outstanding.get(row["incident_id"], {}),
            value=value.get(row["incident_id"], {}),
        )
        for row in counts
    ]


def incident_voucher_summary(*, incident_id: int, now: dt.datetime | None = None) -> IncidentVoucherSummary:
    found = incident_voucher_summaries(incident_ids=[incident_id], now=now)
    return found[0] if found else IncidentVoucherSummary(incident_id, 0, 0, 0, 0, {}, {})


def incident_references(incident_ids: Iterable[int]) -> dict[int, str]:
    return dict(Incident.objects.filter(pk__in=list(incident_ids)).values_list("pk", "reference"))
