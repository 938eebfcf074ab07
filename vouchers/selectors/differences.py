"""Where what customers hold differs from what the policy gives them now, for the coordinator.

A voucher is never withdrawn from a customer because their impact changed: a customer whose 200-minute delay was
corrected to 70 minutes keeps the 3-hour voucher. The coordinator sees it here, with the difference in money,
and decides (void it, or let it stand). Counted after the issuance, as the forecast counts: vouchers still to
issue, top-ups and take-overs are taken as done, so a customer simply not issued yet is no difference.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from incidents.models import AffectedCustomer
from vouchers.models import VoucherStatus
from vouchers.selectors.forecast import Forecast, incident_forecast
from vouchers.selectors.holdings import HeldVoucher, Reconciliation


@dataclass(frozen=True)
class CompensationDifference:
    affected_id: int
    customer_ref: str
    flight: str  # "UA 1545 on 08 Feb 2013"
    impact: str  # the impact as recorded now
    holds: tuple[str, ...]  # each voucher they hold once issued: "Delay of 3 hours or more: USD 150.00"
    gives: tuple[str, ...]  # each award the policy gives now: "Delay of 1 hour or more: USD 50.00"
    held_totals: dict[str, Decimal]
    policy_totals: dict[str, Decimal]
    difference: dict[str, Decimal]  # per currency, held minus what the policy gives (only the non-zero ones)


def _money(currency: str, amount: Decimal) -> str:
    return f"{currency} {amount:,.2f}"


def _held_lines(work: Reconciliation, names: dict[int, str]) -> dict[int, list[str]]:
    """Per customer, the vouchers they hold once the issuance has run, each under the rule it will be under."""
    taken = {take.voucher.id: take for take in work.take_overs}
    lines: dict[int, list[str]] = defaultdict(list)
    for voucher in work.held:
        take = taken.get(voucher.id)
        if take is not None:
            name, amount = names.get(take.planned.rule_id, voucher.rule_name), take.amount
        else:
            name, amount = voucher.rule_name, voucher.amount
        lines[voucher.affected_id].append(f"{name}: {_money(voucher.currency, amount)}{_state(voucher)}")
    for planned in work.to_insert:
        lines[planned.affected_id].append(
            f"{names.get(planned.rule_id, '')}: {_money(planned.currency, planned.amount)}"
        )
    return lines


def _state(voucher: HeldVoucher) -> str:
    return "" if voucher.status == VoucherStatus.ISSUED else f" ({voucher.status})"


def compensation_differences(*, incident_id: int, forecast: Forecast | None = None) -> list[CompensationDifference]:
    """The incident's customers whose vouchers (once issued) are worth other than what the policy gives them now,
    per currency: a voucher kept from a rule that no longer applies, one taken over by a smaller award and kept
    at its value, one a coordinator voided. Pass the incident's ``forecast`` when you have it (it is the costly
    part); then one query, for the customers' references and flights."""
    forecast = forecast or incident_forecast(incident_id=incident_id)
    work = forecast.reconciliation
    if work is None:
        return []
    names = {line.rule_id: line.name for line in forecast.per_rule} | {
        voucher.rule_id: voucher.rule_name for voucher in work.held
    }
    held = work.holdings_by_affected()
    given: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    gives: dict[int, list[str]] = defaultdict(list)
    for planned in work.planned:
        given[planned.affected_id][planned.currency] += planned.amount
        gives[planned.affected_id].append(
            f"{names.get(planned.rule_id, '')}: {_money(planned.currency, planned.amount)}"
        )
    differing: dict[int, dict[str, Decimal]] = {}
    for affected_id in held.keys() | given.keys():
        mine, owed = held.get(affected_id, {}), given.get(affected_id, {})
        difference = {
            currency: mine.get(currency, Decimal(0)) - owed.get(currency, Decimal(0))
            for currency in sorted(mine.keys() | owed.keys())
        }
        difference = {currency: amount for currency, amount in difference.items() if amount}
        if difference:
            differing[affected_id] = difference
    if not differing:
        return []
    rows = (
        AffectedCustomer.objects.filter(pk__in=list(differing))
        .select_related("customer")
        .only(
            "pk",
            "customer__external_ref",
            "carrier",
            "flight_number",
            "flight_date",
            "cancelled",
            "delay_minutes",
            "diverted",
            "missed_connection",
            "overnight_stay",
            "downgraded",
        )
        .order_by("pk")
    )
    holds = _held_lines(work, names)
    return [
        CompensationDifference(
            affected_id=row.pk,
            customer_ref=row.customer.external_ref,
            flight=f"{row.carrier} {row.flight_number} on {row.flight_date:%d %b %Y}",
            impact=row.impact_summary,
            holds=tuple(holds.get(row.pk, [])),
            gives=tuple(gives.get(row.pk, [])),
            held_totals=dict(held.get(row.pk, {})),
            policy_totals=dict(given.get(row.pk, {})),
            difference=differing[row.pk],
        )
        for row in rows
    ]
