"""Statutory minimums (vouchers.law): pure functions, no database."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from vouchers import law
from vouchers.law import (
    CA_APPR,
    EU261,
    UK261,
    FlightFacts,
    StatutoryAward,
    distance_band,
    great_circle_km,
    statutory_awards,
)

DEMO_FLIGHTS = Path(__file__).resolve().parent.parent / "incidents" / "demo_data" / "flights_2013-02-08_09.csv"


def facts(origin: str = "CDG", destination: str = "JFK", **changes: Any) -> FlightFacts:
    """A cancelled flight for a cause within the carrier's control, in 2023, unless told otherwise."""
    base = FlightFacts(
        origin=origin,
        destination=destination,
        carrier="AF",
        flight_date=dt.date(2023, 6, 1),
        cancelled=True,
        arrival_delay_minutes=0,
        rerouted_arrival_delay_minutes=None,
        cause="crew",
        within_control=True,
    )
    return replace(base, **changes)


def award(flight: FlightFacts, regulation: str) -> StatutoryAward | None:
    found = [a for a in statutory_awards(flight) if a.regulation == regulation]
    assert len(found) <= 1
    return found[0] if found else None


def amount(flight: FlightFacts, regulation: str) -> Decimal | None:
    found = award(flight, regulation)
    return found.amount if found else None


def regulations(flight: FlightFacts) -> set[str]:
    return {a.regulation for a in statutory_awards(flight)}


# Distances


def test_great_circle_km() -> None:
    assert great_circle_km("JFK", "CDG") == pytest.approx(5834, abs=2)
    assert great_circle_km("CDG", "JFK") == great_circle_km("JFK", "CDG")
    assert great_circle_km("JFK", "JFK") == 0.0
    assert great_circle_km("jfk", "lhr") == pytest.approx(5540, abs=2)


def test_great_circle_km_unknown_airport() -> None:
    with pytest.raises(ValueError, match="ZZZ"):
        great_circle_km("ZZZ", "JFK")


@pytest.mark.parametrize(
    ("km", "intra", "band"),
    [
        (0.0, False, 1),
        (1500.0, False, 1),
        (1500.1, False, 2),
        (3500.0, False, 2),
        (3500.1, False, 3),
        (1500.0, True, 1),
        (1500.1, True, 2),
        (3500.0, True, 2),
        (3500.1, True, 2),
        (9000.0, True, 2),
    ],
)
def test_distance_band(km: float, intra: bool, band: int) -> None:
    assert distance_band(km, intra=intra) == band


# EU261 amounts near the boundaries, on real airport pairs leaving the EU (not intra-EU)


@pytest.mark.parametrize(
    ("origin", "destination", "km", "eur"),
    [
        ("OTP", "SVO", 1496.9, 250),  # Bucharest-Moscow, just under 1,500 km
        ("VNO", "IST", 1507.2, 400),  # Vilnius-Istanbul, just over
        ("SOF", "DXB", 3494.6, 400),  # Sofia-Dubai, just under 3,500 km
        ("SOF", "AUH", 3503.1, 600),  # Sofia-Abu Dhabi, just over
    ],
)
def test_eu261_amounts_at_distance_boundaries(origin: str, destination: str, km: float, eur: int) -> None:
    assert great_circle_km(origin, destination) == pytest.approx(km, abs=0.1)
    flight = facts(origin, destination, carrier="RO")
    found = award(flight, EU261)
    assert found is not None
    assert (found.kind, found.amount, found.currency) == ("compensation", Decimal(eur), "EUR")


def test_eu261_intra_eu_over_3500_km_is_400() -> None:
    # Helsinki-Gran Canaria is about 4,700 km, but within the EU.
    assert great_circle_km("HEL", "LPA") > 3500
    assert amount(facts("HEL", "LPA", carrier="AY"), EU261) == Decimal(400)


def test_eu261_short_flight() -> None:
    assert amount(facts("CDG", "FRA"), EU261) == Decimal(250)


# Delay, re-routing and cause


def test_eu261_three_hour_delay_boundary() -> None:
    late = facts("CDG", "JFK", cancelled=False)
    assert award(replace(late, arrival_delay_minutes=179), EU261) is None
    assert amount(replace(late, arrival_delay_minutes=180), EU261) == Decimal(600)


@pytest.mark.parametrize(
    ("origin", "destination", "limit_minutes", "full"),
    [
        ("CDG", "FRA", 120, Decimal(250)),  # up to 1,500 km: 2 hours
        ("HEL", "LPA", 180, Decimal(400)),  # intra-EU over 1,500 km: 3 hours
        ("VNO", "IST", 180, Decimal(400)),  # 1,500-3,500 km: 3 hours
        ("CDG", "JFK", 240, Decimal(600)),  # over 3,500 km: 4 hours
    ],
)
def test_eu261_halved_when_rerouted_within_band_limit(
    origin: str, destination: str, limit_minutes: int, full: Decimal
) -> None:
    cancelled = facts(origin, destination, carrier="AF")
    assert amount(cancelled, EU261) == full
    assert amount(replace(cancelled, rerouted_arrival_delay_minutes=limit_minutes), EU261) == full / 2
    assert amount(replace(cancelled, rerouted_arrival_delay_minutes=limit_minutes + 1), EU261) == full


def test_eu261_halving_for_a_long_delay_rerouted() -> None:
    late = facts("CDG", "JFK", cancelled=False, arrival_delay_minutes=300, rerouted_arrival_delay_minutes=200)
    found = award(late, EU261)
    assert found is not None
    assert found.amount == Decimal(300)
    assert "halved" in found.reason


@pytest.mark.parametrize("cause", ["weather", "atc", "security", " Weather "])
def test_extraordinary_circumstances_owe_nothing(cause: str) -> None:
    assert statutory_awards(facts("CDG", "JFK", cause=cause, within_control=False)) == []
    assert award(facts("LHR", "JFK", carrier="BA", cause=cause), UK261) is None
    assert award(facts("YUL", "CDG", cause=cause), CA_APPR) is None


@pytest.mark.parametrize("cause", ["mechanical", "crew", "it"])
def test_technical_fault_and_other_internal_causes_owe_compensation(cause: str) -> None:
    # A technical fault is not extraordinary even when the carrier says it was needed for safety.
    for within_control in (True, False):
        assert amount(facts("CDG", "JFK", cause=cause, within_control=within_control), EU261) == Decimal(600)


# Dates in force and Brexit


def test_no_eu261_before_it_came_into_force() -> None:
    assert regulations(facts("CDG", "JFK", flight_date=dt.date(2004, 12, 1))) == set()
    assert award(facts("CDG", "JFK", flight_date=dt.date(2005, 2, 16)), EU261) is None
    assert award(facts("CDG", "JFK", flight_date=dt.date(2005, 2, 17)), EU261) is not None


def test_2020_london_departure_gets_eu261_not_uk261() -> None:
    flight = facts("LHR", "JFK", carrier="BA", flight_date=dt.date(2020, 12, 31))
    assert regulations(flight) == {EU261}
    assert amount(flight, EU261) == Decimal(600)


def test_2021_london_departure_gets_uk261_not_eu261() -> None:
    flight = facts("LHR", "JFK", carrier="BA", flight_date=dt.date(2021, 1, 1))
    assert regulations(flight) == {UK261}
    found = award(flight, UK261)
    assert found is not None
    assert (found.amount, found.currency) == (Decimal(520), "GBP")


@pytest.mark.parametrize(
    ("origin", "destination", "gbp"),
    [("LHR", "EDI", 220), ("LHR", "IST", 350), ("LHR", "JFK", 520)],
)
def test_uk261_amounts(origin: str, destination: str, gbp: int) -> None:
    assert amount(facts(origin, destination, carrier="BA"), UK261) == Decimal(gbp)


def test_uk261_halved_when_rerouted() -> None:
    flight = facts("LHR", "JFK", carrier="BA", rerouted_arrival_delay_minutes=240)
    assert amount(flight, UK261) == Decimal(260)


# Which flights are in scope


def test_jfk_to_lhr_on_ba_gets_uk261() -> None:
    assert regulations(facts("JFK", "LHR", carrier="BA", flight_date=dt.date(2023, 6, 1))) == {UK261}


def test_jfk_to_lhr_on_af_gets_uk261() -> None:
    assert UK261 in regulations(facts("JFK", "LHR", carrier="AF"))


def test_jfk_to_cdg_on_af_gets_eu261() -> None:
    flight = facts("JFK", "CDG", carrier="AF")
    assert regulations(flight) == {EU261}
    assert amount(flight, EU261) == Decimal(600)


def test_jfk_to_cdg_on_ua_gets_nothing() -> None:
    assert statutory_awards(facts("JFK", "CDG", carrier="UA")) == []


def test_jfk_to_cdg_on_ba_before_and_after_brexit() -> None:
    assert regulations(facts("JFK", "CDG", carrier="BA", flight_date=dt.date(2020, 6, 1))) == {EU261}
    assert regulations(facts("JFK", "CDG", carrier="BA", flight_date=dt.date(2021, 6, 1))) == set()


def test_uk_eu_flights_get_one_of_eu261_and_uk261() -> None:
    # Leaving the EU on a UK carrier: EU261 only; leaving the UK on an EU carrier: UK261 only.
    assert regulations(facts("CDG", "LHR", carrier="BA")) == {EU261}
    assert regulations(facts("LHR", "CDG", carrier="AF")) == {UK261}


# Canada APPR


@pytest.mark.parametrize(
    ("minutes", "cad"),
    [(179, None), (180, 400), (359, 400), (360, 700), (539, 700), (540, 1000), (2000, 1000)],
)
def test_appr_bands(minutes: int, cad: int | None) -> None:
    flight = facts("YYZ", "YVR", carrier="AC", cancelled=False, arrival_delay_minutes=minutes)
    assert amount(flight, CA_APPR) == (Decimal(cad) if cad is not None else None)
    found = award(flight, CA_APPR)
    assert found is None or found.currency == "CAD"


def test_appr_not_for_weather_or_outside_control() -> None:
    late = facts("YYZ", "YVR", carrier="AC", cancelled=False, arrival_delay_minutes=600)
    assert award(replace(late, cause="weather", within_control=False), CA_APPR) is None
    assert award(replace(late, cause="weather", within_control=True), CA_APPR) is None
    assert award(replace(late, cause="mechanical", within_control=False), CA_APPR) is None  # required for safety


def test_appr_scope_and_date() -> None:
    assert amount(facts("JFK", "YUL", carrier="UA"), CA_APPR) == Decimal(400)  # to Canada, refunded
    assert amount(facts("JFK", "YUL", carrier="UA", rerouted_arrival_delay_minutes=400), CA_APPR) == Decimal(700)
    assert award(facts("JFK", "YUL", carrier="UA", flight_date=dt.date(2019, 12, 14)), CA_APPR) is None
    assert award(facts("JFK", "LAX", carrier="UA"), CA_APPR) is None


def test_appr_and_eu261_both_listed() -> None:
    assert regulations(facts("YUL", "CDG", carrier="AF")) == {CA_APPR, EU261}


# US DOT refund


def test_us_dot_refund_is_a_refund_from_its_date() -> None:
    flight = facts("JFK", "LAX", carrier="UA", flight_date=dt.date(2024, 10, 28))
    found = award(flight, law.US_DOT_REFUND)
    assert found is not None
    assert (found.kind, found.amount, found.currency) == ("refund", None, None)
    assert award(replace(flight, flight_date=dt.date(2024, 10, 27)), law.US_DOT_REFUND) is None


@pytest.mark.parametrize(
    ("origin", "destination", "cancelled", "minutes"),
    [
        ("JFK", "LAX", False, 180),
        ("JFK", "LAX", False, 181),
        ("JFK", "CDG", False, 360),
        ("CDG", "JFK", False, 361),
        ("JFK", "CDG", True, 0),
        ("CDG", "FRA", True, 0),
        ("ZZZ", "JFK", False, 200),
    ],
)
def test_us_dot_refund_matches_entitlements(origin: str, destination: str, cancelled: bool, minutes: int) -> None:
    """The same decision as vouchers.law, which applies the rule to an AffectedCustomer."""
    day = dt.date(2025, 1, 1)
    flight = facts(
        origin, destination, carrier="UA", flight_date=day, cancelled=cancelled, arrival_delay_minutes=minutes
    )
    affected = SimpleNamespace(
        origin=origin,
        destination=destination,
        carrier="UA",
        flight_number=1,
        flight_date=day,
        cancelled=cancelled,
        delay_minutes=minutes,
    )
    expected = law._us_dot_refund(affected)  # type: ignore[arg-type]
    assert (award(flight, law.US_DOT_REFUND) is not None) == (expected is not None)


# The NYC demo flights


def demo_routes() -> list[tuple[str, str, str]]:
    with DEMO_FLIGHTS.open(newline="", encoding="utf-8") as handle:
        return sorted({(row["origin"], row["dest"], row["carrier"]) for row in csv.DictReader(handle)})


def test_demo_flights_are_us_domestic_with_no_eu_uk_or_appr() -> None:
    routes = demo_routes()
    assert len(routes) > 100
    for origin, destination, carrier in routes:
        for day in (dt.date(2013, 2, 8), dt.date(2025, 2, 8)):
            flight = facts(origin, destination, carrier=carrier, flight_date=day, arrival_delay_minutes=600)
            for cancelled in (True, False):
                found = regulations(replace(flight, cancelled=cancelled))
                assert not found & {EU261, UK261, CA_APPR}, (origin, destination, carrier)
                # The DOT rule was not in force in 2013; it is for the same flights in 2025.
                assert found == (set() if day.year == 2013 else {law.US_DOT_REFUND})
