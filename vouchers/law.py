"""The law: what a disrupted customer is owed by regulation, as opposed to what we choose to give (vouchers).

One module, pure functions of the facts of a flight, no database:

- **Entitlements** (``customer_entitlements``, ``Entitlement``): what a letter and a rep's screen say a
  customer is owed. The US DOT refund rule comes first (a refund must be offered before any voucher), then
  the compensation of EU261, UK261 and Canada's APPR, paid in money: a voucher in its place needs the
  customer's recorded consent. An entitlement's ``text`` is English, for staff screens and logs; letters
  use ``care.correspondence.phrases``, which words it in the customer's language from ``regulation_code``
  and ``reason``. Like every regulation here, the refund rule is decided by the flight's date.
- **Statutory awards** (``statutory_awards``, ``FlightFacts``, ``StatutoryAward``): the statutory minimum
  owed for a disrupted flight, to show beside the goodwill award. Each regulation is one small function
  that checks its own scope and the date it came into force against the flight's date:

  - EU Regulation 261/2004 (from 17 Feb 2005) and its retained UK copy, UK261 (from 1 Jan 2021): fixed
    compensation by great-circle distance, for a cancellation or an arrival 3 hours or more late (Sturgeon,
    C-402/07), halved when re-routing got the passenger there soon enough (Art. 7(2)), nothing when the
    cause was an extraordinary circumstance (Art. 5(3)). Technical faults are not extraordinary
    (Wallentin-Hermann, C-549/07), so these two decide on ``cause`` alone, not on ``within_control``.
  - Canada's APPR, large carrier amounts (from 15 Dec 2019): compensation by arrival delay when the cause
    was within the carrier's control and not required for safety; the carrier's classification is
    ``within_control``.
  - The US DOT refund rule (for flights from 28 Oct 2024): a refund, not compensation.

Not modelled: notice of a cancellation given in advance (Art. 5(1)(c)), denied boarding and downgrading, the
"benefits received in a third country" proviso beyond the EU261/UK261 overlap, APPR small carriers, and the
reduction of Art. 7(2) for a plain delay without re-routing. All carriers are treated as large under APPR.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from care.core.stations import airport_record, station

if TYPE_CHECKING:
    from incidents.models import AffectedCustomer

EntitlementKind = Literal["refund", "compensation"]

US_DOT_REFUND = "us_dot_refund"
US_DOT_REFUND_NAME = "US DOT refund rule"
# 14 CFR part 260, automatic refunds: applies to flights on or after this date, whenever the letter is written
# (the 2013 demo flights are owed no refund under it; staff screens say why, in US_DOT_REFUND_NOT_IN_FORCE).
US_DOT_REFUND_IN_FORCE = dt.date(2024, 10, 28)
US_DOT_REFUND_NOT_IN_FORCE = (
    f"not in force for flights before {US_DOT_REFUND_IN_FORCE.day} {US_DOT_REFUND_IN_FORCE:%B %Y}"
)
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


def entitlements_for(affected: AffectedCustomer) -> list[Entitlement]:
    """Everything ``affected`` is owed by regulation for this disruption, by the rules in force on its flight's date."""
    refund = _us_dot_refund(affected)
    return ([refund] if refund is not None else []) + _compensation(affected)


COMPENSATION_NAMES = {
    "eu261": "EU Regulation 261/2004",
    "uk261": "UK261",
    "ca_appr": "Canada's Air Passenger Protection Regulations",
}


def _compensation(affected: AffectedCustomer) -> list[Entitlement]:
    """EU261, UK261 and APPR compensation for this flight, by the flight's date (re-routing is not recorded,
    so no halving is applied); none for an extraordinary cause such as weather."""

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
    *, origin: str, destination: str, cancelled: bool, delay_minutes: int, flight_date: dt.date
) -> tuple[str, int] | None:
    """Why the US DOT refund rule applies ("cancellation" or "significant_change") and the hours threshold
    for this route, or None: one decision by the flight's date, for the letters and the statutory awards."""
    if flight_date < US_DOT_REFUND_IN_FORCE:
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


def _us_dot_refund(affected: AffectedCustomer) -> Entitlement | None:
    """A full refund for a cancelled or significantly changed flight to, from or within the United States.

    Not covered yet: the rule's other significant changes (another airport, more connections, a lower
    cabin, a less accessible aircraft). ``delay_minutes`` is the delay the customer arrived with.
    """
    trigger = us_dot_refund_trigger(
        origin=affected.origin,
        destination=affected.destination,
        cancelled=affected.cancelled,
        delay_minutes=affected.delay_minutes,
        flight_date=affected.flight_date,
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


# Statutory awards by regulation

AwardKind = Literal["compensation", "refund"]

EARTH_RADIUS_KM = 6371.0
BAND_1_MAX_KM = 1500
BAND_2_MAX_KM = 3500

EU261 = "eu261"
UK261 = "uk261"
CA_APPR = "ca_appr"

EU261_IN_FORCE = dt.date(2005, 2, 17)
UK261_IN_FORCE = dt.date(2021, 1, 1)
APPR_IN_FORCE = dt.date(2019, 12, 15)  # compensation for delays and cancellations (the second phase)
# The UK left the EU on 31 Jan 2020; EU law, EU261 included, applied to it until the transition ended.
BREXIT_TRANSITION_END = dt.date(2020, 12, 31)

# Causes that are extraordinary circumstances (EU261 Art. 5(3), recital 14) and never within a carrier's control
# under APPR. Anything else, 'mechanical', 'crew' and 'it' included, is the carrier's own risk under EU261/UK261.
EXTRAORDINARY_CAUSES = frozenset({"weather", "atc", "security"})

# Where EU261 applies, as ISO countries from airportsdata: the 27 member states, their outermost regions that
# airportsdata lists as countries of their own (Guadeloupe, Martinique, French Guiana, Reunion, Mayotte,
# Saint-Martin; the Canaries, Madeira and the Azores are ES and PT already), the EEA (Iceland, Liechtenstein,
# Norway) and Switzerland.
EU261_COUNTRIES = frozenset(
    {
        *("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU"),
        *("IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"),
        *("GP", "MQ", "GF", "RE", "YT", "MF"),
        *("IS", "LI", "NO", "CH"),
    }
)
# Countries for which EU261 applied only for part of its life: (first day, last day), None for open.
EU261_DATED_COUNTRIES: dict[str, tuple[dt.date | None, dt.date | None]] = {
    "BG": (dt.date(2007, 1, 1), None),
    "RO": (dt.date(2007, 1, 1), None),
    "CH": (dt.date(2006, 12, 1), None),  # by the EU-Swiss air transport agreement
    "HR": (dt.date(2013, 7, 1), None),
    "GB": (None, BREXIT_TRANSITION_END),
    "GI": (None, BREXIT_TRANSITION_END),
}
UK261_COUNTRIES = frozenset({"GB"})
CANADA = "CA"

# Operating carriers by IATA code: a small, documented sample, not a register of operating licences.
# EU (and EEA/Swiss) carriers count as "Community carriers" for EU261 and as EU carriers for UK261.
EU_CARRIERS = frozenset(
    {
        "LH",  # Lufthansa
        "AF",  # Air France
        "KL",  # KLM
        "IB",  # Iberia
        "AZ",  # ITA Airways (Alitalia before 2021)
        "SK",  # SAS
        "AY",  # Finnair
        "TP",  # TAP Air Portugal
        "OS",  # Austrian
        "SN",  # Brussels Airlines
        "EI",  # Aer Lingus
        "FR",  # Ryanair
        "VY",  # Vueling
        "LO",  # LOT
        "A3",  # Aegean
        "DY",  # Norwegian (EEA)
        "LX",  # Swiss (EU-Swiss agreement)
    }
)
# UK carriers: EU carriers until the end of the Brexit transition, UK carriers for UK261 from 2021.
UK_CARRIERS = frozenset(
    {
        "BA",  # British Airways
        "VS",  # Virgin Atlantic
        "U2",  # easyJet (UK)
        "LS",  # Jet2
        "BY",  # TUI Airways
        "LM",  # Loganair
    }
)

EU261_AMOUNTS = (Decimal(250), Decimal(400), Decimal(600))  # EUR, by band 1, 2, 3
UK261_AMOUNTS = (Decimal(220), Decimal(350), Decimal(520))  # GBP, by band 1, 2, 3
# Art. 7(2): compensation is halved when re-routing arrives no later than this many hours after schedule.
REROUTE_HALVING_HOURS = (2, 3, 4)  # by band 1, 2, 3
# Arrival delay from which a delay counts like a cancellation (Sturgeon).
LONG_DELAY_MINUTES = 3 * 60
# APPR large carriers: (minimum arrival delay in minutes, CAD), longest first. A passenger who is not re-routed
# after a cancellation and takes a refund instead is owed the lowest amount.
APPR_LARGE_CARRIER_BANDS = ((9 * 60, Decimal(1000)), (6 * 60, Decimal(700)), (3 * 60, Decimal(400)))
APPR_REFUND_INSTEAD = Decimal(400)

Band = Literal[1, 2, 3]


@dataclass(frozen=True)
class FlightFacts:
    origin: str  # IATA airport codes
    destination: str
    carrier: str  # the operating carrier's IATA code
    flight_date: dt.date  # the scheduled date of the flight, which decides the rules in force
    cancelled: bool
    arrival_delay_minutes: int  # how late the booked flight arrived; ignored when it was cancelled
    # When the passenger was re-routed to the destination: how late they arrived against the original schedule.
    rerouted_arrival_delay_minutes: int | None
    cause: str  # e.g. "weather", "atc", "security", "mechanical", "crew", "it"
    within_control: bool  # the carrier's classification under APPR (within control and not required for safety)


@dataclass(frozen=True)
class StatutoryAward:
    regulation: str  # stable key: "eu261", "uk261", "ca_appr" or "us_dot_refund"
    kind: AwardKind
    amount: Decimal | None  # None for a refund: the unused fare, which is not known here
    currency: str | None
    reason: str  # English, for staff screens


def statutory_awards(facts: FlightFacts) -> list[StatutoryAward]:
    """Every statutory award owed for ``facts``, possibly under several regulations; empty when none apply."""
    rules: tuple[Callable[[FlightFacts], StatutoryAward | None], ...] = (eu261, uk261, canada_appr, us_dot_refund)
    return [award for award in (rule(facts) for rule in rules) if award is not None]


def great_circle_km(a: str, b: str) -> float:
    """The haversine distance in km between two IATA airports; ValueError for a code airportsdata does not know."""
    lat1, lon1 = _coordinates(a)
    lat2, lon2 = _coordinates(b)
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def distance_band(km: float, *, intra: bool) -> Band:
    """The EU261/UK261 band: 1 up to 1,500 km; 2 for intra-EU (UK: domestic) flights over 1,500 km and all other
    flights over 1,500 km up to 3,500 km; 3 otherwise. Both limits belong to the lower band."""
    if km <= BAND_1_MAX_KM:
        return 1
    if intra or km <= BAND_2_MAX_KM:
        return 2
    return 3


def in_eu261_area(country: str | None, on: dt.date) -> bool:
    """Whether EU261 applied to airports in ``country`` on ``on``."""
    if country in EU261_DATED_COUNTRIES:
        first, last = EU261_DATED_COUNTRIES[country]
        return (first is None or on >= first) and (last is None or on <= last)
    return country in EU261_COUNTRIES


def is_eu_carrier(carrier: str, on: dt.date) -> bool:
    """Whether ``carrier`` was an EU (Community) carrier on ``on``: UK carriers were until the end of 2020."""
    code = carrier.upper()
    return code in EU_CARRIERS or (code in UK_CARRIERS and on <= BREXIT_TRANSITION_END)


def is_uk_carrier(carrier: str) -> bool:
    return carrier.upper() in UK_CARRIERS


def eu261(facts: FlightFacts) -> StatutoryAward | None:
    """EU261: departures from the EU on any carrier; arrivals into the EU on an EU carrier, unless the flight left
    the UK while UK261 applied there (the passenger is owed UK261 instead, Art. 3(1)(b))."""
    on = facts.flight_date
    if on < EU261_IN_FORCE:
        return None
    origin, destination = airport_country(facts.origin), airport_country(facts.destination)
    departs_eu = in_eu261_area(origin, on)
    arrives_eu = in_eu261_area(destination, on) and is_eu_carrier(facts.carrier, on)
    if not departs_eu and (not arrives_eu or (_uk261_in_force(on) and origin in UK261_COUNTRIES)):
        return None
    intra = departs_eu and in_eu261_area(destination, on)
    return _fixed_compensation(facts, EU261, "EU261", "EUR", EU261_AMOUNTS, intra=intra)


def uk261(facts: FlightFacts) -> StatutoryAward | None:
    """UK261: departures from the UK on any carrier; arrivals into the UK on a UK or EU carrier, unless the flight
    left the EU (the passenger is owed EU261 instead, Art. 3(1)(b))."""
    on = facts.flight_date
    if not _uk261_in_force(on):
        return None
    origin, destination = airport_country(facts.origin), airport_country(facts.destination)
    departs_uk = origin in UK261_COUNTRIES
    uk_or_eu_carrier = is_uk_carrier(facts.carrier) or is_eu_carrier(facts.carrier, on)
    arrives_uk = destination in UK261_COUNTRIES and uk_or_eu_carrier
    if not departs_uk and (not arrives_uk or in_eu261_area(origin, on)):
        return None
    domestic = departs_uk and destination in UK261_COUNTRIES
    return _fixed_compensation(facts, UK261, "UK261", "GBP", UK261_AMOUNTS, intra=domestic)


def canada_appr(facts: FlightFacts) -> StatutoryAward | None:
    """APPR, large carriers: flights to, from or within Canada, delayed or cancelled within the carrier's control.

    The delay is the passenger's arrival delay: the re-routed one when re-routed. After a cancellation without
    re-routing the passenger takes a refund and is owed the lowest amount as well.
    """
    if facts.flight_date < APPR_IN_FORCE:
        return None
    if CANADA not in (airport_country(facts.origin), airport_country(facts.destination)):
        return None
    if not facts.within_control or _extraordinary(facts.cause):
        return None
    if facts.cancelled and facts.rerouted_arrival_delay_minutes is None:
        return StatutoryAward(
            regulation=CA_APPR,
            kind="compensation",
            amount=APPR_REFUND_INSTEAD,
            currency="CAD",
            reason="APPR: cancelled within the carrier's control, not re-routed (refund and minimum compensation).",
        )
    delay = _passenger_delay(facts)
    for minimum, amount in APPR_LARGE_CARRIER_BANDS:
        if delay >= minimum:
            return StatutoryAward(
                regulation=CA_APPR,
                kind="compensation",
                amount=amount,
                currency="CAD",
                reason=f"APPR: arrived {_hours(delay)} late ({minimum // 60} h or more), within the carrier's control.",
            )
    return None


def us_dot_refund(facts: FlightFacts) -> StatutoryAward | None:
    """The US DOT refund rule, as in ``vouchers.law``: a refund, to be offered before any voucher, for a
    cancellation or an arrival more than 3 hours (domestic) or 6 hours (international) late; an airport
    airportsdata does not know counts as abroad."""
    trigger = us_dot_refund_trigger(
        origin=facts.origin,
        destination=facts.destination,
        cancelled=facts.cancelled,
        delay_minutes=facts.arrival_delay_minutes,
        flight_date=facts.flight_date,
    )
    if trigger is None:
        return None
    why, hours = trigger
    if why == "cancellation":
        reason = "US DOT: cancelled; a refund in money must be offered before any voucher."
    else:
        reason = f"US DOT: more than {hours} hours late (significant change); a refund in money, before any voucher."
    return StatutoryAward(regulation=US_DOT_REFUND, kind="refund", amount=None, currency=None, reason=reason)


def _fixed_compensation(
    facts: FlightFacts,
    regulation: str,
    name: str,
    currency: str,
    amounts: tuple[Decimal, Decimal, Decimal],
    *,
    intra: bool,
) -> StatutoryAward | None:
    """The EU261/UK261 amount for facts already in scope, or None when nothing is owed."""
    if _extraordinary(facts.cause):
        return None
    if not facts.cancelled and facts.arrival_delay_minutes < LONG_DELAY_MINUTES:
        return None
    km = great_circle_km(facts.origin, facts.destination)
    band = distance_band(km, intra=intra)
    amount = amounts[band - 1]
    what = "cancelled" if facts.cancelled else f"arrived {_hours(facts.arrival_delay_minutes)} late"
    reason = f"{name}: {what}, {km:,.0f} km"
    rerouted = facts.rerouted_arrival_delay_minutes
    limit = REROUTE_HALVING_HOURS[band - 1]
    if rerouted is not None and rerouted <= limit * 60:
        amount /= 2
        reason += f"; halved: re-routed, arriving {_hours(rerouted)} late, within {limit} hours"
    return StatutoryAward(regulation=regulation, kind="compensation", amount=amount, currency=currency, reason=reason)


def _coordinates(code: str) -> tuple[float, float]:
    airport = airport_record(code)
    if airport is None:
        raise ValueError(f"Unknown airport {code!r}: no coordinates")
    return float(airport["lat"]), float(airport["lon"])


def _uk261_in_force(on: dt.date) -> bool:
    return on >= UK261_IN_FORCE


def _extraordinary(cause: str) -> bool:
    return cause.strip().lower() in EXTRAORDINARY_CAUSES


def _passenger_delay(facts: FlightFacts) -> int:
    rerouted = facts.rerouted_arrival_delay_minutes
    return rerouted if rerouted is not None else facts.arrival_delay_minutes


def _hours(minutes: int) -> str:
    return f"{minutes // 60} h {minutes % 60:02d} min"
