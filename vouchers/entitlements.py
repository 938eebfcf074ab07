"""What a disrupted customer is owed by law, as opposed to what we choose to give (vouchers).

The US DOT refund rule comes first (a refund must be offered before any voucher), then the compensation of
EU261, UK261 and Canada's APPR as ``vouchers.regulations`` computes it for the flight (by the flight's date and
the incident's cause), paid in money: a voucher in its place needs the customer's recorded consent.

An entitlement's ``text`` is English, for staff screens and logs; letters use ``care.phrases``, which words
it in the customer's language from ``regulation_code`` and ``reason``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from django.utils import timezone

from care.stations import station

if TYPE_CHECKING:
    from incidents.models import AffectedCustomer

EntitlementKind = Literal["refund", "compensation"]

US_DOT_REFUND = "us_dot_refund"
US_DOT_REFUND_NAME = "US DOT refund rule"
# 14 CFR part 260, automatic refunds: applies to flights affected on or after this date. The demo flights
# are from 2013, but the rule is applied by the date the letter is written (it applies to letters written now).
US_DOT_REFUND_IN_FORCE = dt.date(2024, 10, 28)
# A "significant change" of departure or arrival time: more than 3 hours domestic, 6 hours international.
US_DOT_DOMESTIC_HOURS = 3
US_DOT_INTERNATIONAL_HOURS = 6
# Territories that DOT treats as the United States (airportsdata gives Puerto Rico as US already).
US_COUNTRIES = frozenset({"US", "PR", "VI", "GU", "AS", "MP"})


@dataclass(frozen=True)
class Entitlement:
    kind: EntitlementKind
    regulation: str  # the rule's name, as a coordinator or a customer would know it
    regulation_code: str  # stable key, e.g. "us_dot_refund"
    reason: Literal["cancellation", "significant_change", "long_delay"]
    text: str  # English, one or two sentences
    threshold_hours: int | None = None  # for a significant change: the delay it took to count as one
    amount: Decimal | None = None  # compensation owed in money; None for a refund (the unused fare)
    currency: str = ""
    # The flight it is owed for ("UA 1545"): an apology covering several flights states each one's.
    flight_label: str = ""


def airport_country(code: str) -> str | None:
    """The ISO country of an IATA airport, or None when airportsdata does not know the code."""
    return station(code).country


def entitlements_for(affected: AffectedCustomer, *, on: dt.date | None = None) -> list[Entitlement]:
    """Everything ``affected`` is owed by regulation for this disruption, as of ``on`` (default: today)."""
    today = on or timezone.localdate()
    refund = _us_dot_refund(affected, today)
    return ([refund] if refund is not None else []) + _compensation(affected)


COMPENSATION_NAMES = {
    "eu261": "EU Regulation 261/2004",
    "uk261": "UK261",
    "ca_appr": "Canada's Air Passenger Protection Regulations",
}


def _compensation(affected: AffectedCustomer) -> list[Entitlement]:
    """EU261, UK261 and APPR compensation for this flight, by the flight's date (re-routing is not recorded,
    so no halving is applied); none for an extraordinary cause such as weather."""
    from vouchers.regulations import FlightFacts, canada_appr, eu261, uk261

    incident = affected.incident
    facts = FlightFacts(
        origin=affected.origin,
        destination=affected.destination,
        carrier=affected.carrier,
        flight_date=affected.flight_date,
        cancelled=affected.cancelled,
        arrival_delay_minutes=affected.delay_minutes,
        rerouted_arrival_delay_minutes=None,
        cause=incident.cause,
        within_control=incident.within_control,
    )
    found: list[Entitlement] = []
    label = f"{affected.carrier} {affected.flight_number}"
    for regulation in (eu261, uk261, canada_appr):
        try:
            award = regulation(facts)
        except ValueError:  # an airport without coordinates: the amount cannot be worked out
            continue
        if award is None or award.amount is None:
            continue
        name = COMPENSATION_NAMES[award.regulation]
        what = "was cancelled" if affected.cancelled else "arrived more than three hours late"
        found.append(
            Entitlement(
                kind="compensation",
                regulation=name,
                regulation_code=award.regulation,
                reason="cancellation" if affected.cancelled else "long_delay",
                text=(
                    f"Because {label} {what}, you are entitled to compensation of {award.currency} "
                    f"{award.amount:,.2f} under {name}, paid in money. We will only give you a voucher instead if "
                    "you tell us you prefer one."
                ),
                amount=award.amount,
                currency=award.currency or "",
                flight_label=label,
            )
        )
    return found


def us_dot_refund_trigger(
    *, origin: str, destination: str, cancelled: bool, delay_minutes: int, on: dt.date
) -> tuple[str, int] | None:
    """Why the US DOT refund rule applies ("cancellation" or "significant_change") and the hours threshold
    for this route, or None. One decision, shared by the letters (this module) and vouchers.regulations."""
    if on < US_DOT_REFUND_IN_FORCE:
        return None
    in_us = [airport_country(code) in US_COUNTRIES for code in (origin, destination)]
    if not any(in_us):
        return None
    # An airport airportsdata does not know counts as abroad: the longer, international threshold applies.
    hours = US_DOT_DOMESTIC_HOURS if all(in_us) else US_DOT_INTERNATIONAL_HOURS
    if cancelled:
        return "cancellation", hours
    if delay_minutes > hours * 60:
        return "significant_change", hours
    return None


def _us_dot_refund(affected: AffectedCustomer, today: dt.date) -> Entitlement | None:
    """A full refund for a cancelled or significantly changed flight to, from or within the United States.

    Not covered yet: the rule's other significant changes (another airport, more connections, a lower
    cabin, a less accessible aircraft). ``delay_minutes`` is the delay the customer arrived with.
    """
    trigger = us_dot_refund_trigger(
        origin=affected.origin,
        destination=affected.destination,
        cancelled=affected.cancelled,
        delay_minutes=affected.delay_minutes,
        on=today,
    )
    if trigger is None:
        return None
    why, hours = trigger
    label = f"{affected.carrier} {affected.flight_number}"
    if why == "cancellation":
        return Entitlement(
            kind="refund",
            regulation=US_DOT_REFUND_NAME,
            regulation_code=US_DOT_REFUND,
            reason="cancellation",
            text=(
                f"Because {label} was cancelled, you are entitled to a full refund of the unused ticket, in money "
                "and not as a voucher, if you did not travel or did not accept the new flight we offered."
            ),
            flight_label=label,
        )
    return Entitlement(
        kind="refund",
        regulation=US_DOT_REFUND_NAME,
        regulation_code=US_DOT_REFUND,
        reason="significant_change",
        text=(
            f"Because {label} was more than {hours} hours late, you are entitled to a full refund of the unused "
            "ticket, in money and not as a voucher, if you chose not to travel."
        ),
        threshold_hours=hours,
        flight_label=label,
    )
