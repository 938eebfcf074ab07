"""Stations (airports) by IATA code, from airportsdata: their city, name, time zone and country."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, cast

import airportsdata


@dataclass(frozen=True)
class Station:
    code: str
    city: str
    airport: str
    time_zone: str | None  # None when airportsdata does not know the code
    country: str | None


@cache
def _airports() -> dict[str, Any]:
    return cast("dict[str, Any]", airportsdata.load("IATA"))


def airport_record(code: str) -> dict[str, Any] | None:
    """airportsdata's record for an IATA code (coordinates, country, time zone), or None if unknown."""
    return _airports().get(code.upper())


@cache
def station(code: str) -> Station:
    """The station for an IATA code; an unknown code stands for itself, with no time zone or country."""
    airport = _airports().get(code.upper())
    if airport is None:
        return Station(code=code, city=code, airport=code, time_zone=None, country=None)
    return Station(
        code=code,
        city=str(airport.get("city") or code),
        airport=str(airport.get("name") or code),
        time_zone=str(airport["tz"]) if airport.get("tz") else None,
        country=str(airport["country"]) if airport.get("country") else None,
    )
