"""The legal minimum beside the goodwill, for the coordinator: what each regulation owes an incident's
customers in all, and the first customers with their statutory and goodwill lines."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from incidents.models import AffectedCustomer
from vouchers.law import StatutoryAward
from vouchers.policy import statutory_for, statutory_not_in_force
from vouchers.selectors.entitlements import REGULATION_NAMES, EntitlementLine, customer_entitlements
from vouchers.selectors.rules import impacts_for


@dataclass(frozen=True)
class StatutorySummary:
    """How many of an incident's customers a regulation owes something, and how much compensation in all."""

    regulation: str
    label: str
    kind: str  # "refund" or "compensation"
    customers: int
    totals: dict[str, Decimal]


def incident_statutory_summary(*, incident_id: int) -> list[StatutorySummary]:
    """What the law owes the incident's customers by their flights' dates, refund first: one query, one
    evaluation per distinct flight."""
    by_flight: dict[tuple[object, ...], list[StatutoryAward]] = {}
    customers: dict[str, int] = defaultdict(int)
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    kinds: dict[str, str] = {}
    for impact in impacts_for(incident_id=incident_id):
        key = impact.flight_key
        if key not in by_flight:
            by_flight[key] = statutory_for(impact)
        for award in by_flight[key]:
            customers[award.regulation] += 1
            kinds[award.regulation] = award.kind
            if award.amount is not None and award.currency:
                totals[award.regulation][award.currency] += award.amount
    return [
        StatutorySummary(
            regulation=code,
            label=REGULATION_NAMES.get(code, code),
            kind=kinds[code],
            customers=count,
            totals=dict(totals[code]),
        )
        for code, count in sorted(customers.items(), key=lambda item: (kinds[item[0]] != "refund", item[0]))
    ]


def incident_statutory_not_in_force(*, incident_id: int) -> list[str]:
    """Why a regulation that would owe the incident's customers something owes them nothing, with how many:
    "US DOT refund rule: not in force for flights before 28 October 2024 (12 customers)". One query."""
    by_flight: dict[tuple[object, ...], list[tuple[str, str]]] = {}
    customers: dict[tuple[str, str], int] = defaultdict(int)
    for impact in impacts_for(incident_id=incident_id):
        key = impact.flight_key
        if key not in by_flight:
            by_flight[key] = statutory_not_in_force(impact)
        for line in by_flight[key]:
            customers[line] += 1
    return [
        f"{REGULATION_NAMES.get(code, code)}: {why} ({count:,} customer{'s' if count != 1 else ''})"
        for (code, why), count in customers.items()
    ]


@dataclass(frozen=True)
class CustomerAward:
    affected_id: int
    customer_ref: str
    impact: str
    lines: list[EntitlementLine]


def incident_customer_awards(*, incident_id: int, limit: int = 25) -> list[CustomerAward]:
    """The first ``limit`` customers of the incident with the legal minimum beside their goodwill award."""
    rows = list(
        AffectedCustomer.objects.filter(incident_id=incident_id)
        .select_related("customer")
        .only(
            "pk",
            "customer__external_ref",
            "cancelled",
            "delay_minutes",
            "diverted",
            "missed_connection",
            "overnight_stay",
            "downgraded",
        )
        .order_by("pk")[:limit]
    )
    lines = customer_entitlements(affected_ids=[row.pk for row in rows])
    return [
        CustomerAward(
            affected_id=row.pk,
            customer_ref=row.customer.external_ref,
            impact=row.impact_summary,
            lines=lines.get(row.pk, []),
        )
        for row in rows
    ]
