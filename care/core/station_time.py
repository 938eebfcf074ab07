"""Times as staff read them: on the station's clock, with its zone, and a promise in UTC as well.

One clock for the workbench and the frontline pages. An incident's times are told in the zone of its first
station whose zone is known (``care.core.stations``): "8 Feb 2013, 11:00 EST". An incident listing several
stations says whose clock it is: "8 Feb 2013, 11:00 EST at JFK". A promise carries UTC beside it:
"8 Feb 2013, 11:00 EST (16:00 UTC)". Without a known zone a time is told in UTC, and says so.

A *place* is an incident (anything with ``stations``), a string of station codes, a customer (anything with
``time_zone``: their own clock, for what is not about an incident), a ``tzinfo``, or None (UTC).

Letters are not told here: they speak the customer's zone and language (care.correspondence.rendering.formatting).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from functools import cache

from django.utils.formats import date_format

from care.core.stations import station

EMPTY = "—"


@dataclass(frozen=True)
class StationClock:
    """Whose clock a time is told on."""

    zone: dt.tzinfo
    station: str = ""  # the station whose zone it is; "" for UTC or a customer's own zone
    named: bool = False  # the place lists several stations: the text says which one's clock it is

    @property
    def is_utc(self) -> bool:
        return self.zone is dt.UTC or getattr(self.zone, "key", None) in {"UTC", "Etc/UTC"}


UTC_CLOCK = StationClock(zone=dt.UTC)


@cache
def zone_named(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The time zone of this IANA name, or None for an empty or unknown name (the caller picks a fallback)."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


@cache
def stations_clock(codes: str) -> StationClock:
    """The clock of the first of these IATA codes whose zone is known; UTC when none is."""
    listed = codes.upper().split()
    for code in listed:
        zone = zone_named(station(code).time_zone or "")
        if zone is not None:
            return StationClock(zone=zone, station=code, named=len(set(listed)) > 1)
    return UTC_CLOCK


def clock_of(place: object) -> StationClock:
    """The clock a place's times are told on (see the module's docstring for what a place is)."""
    if isinstance(place, StationClock):
        return place
    if isinstance(place, dt.tzinfo):
        return StationClock(zone=place)
    if isinstance(place, str):
        return stations_clock(place)
    stations = getattr(place, "stations", None)
    if isinstance(stations, str):
        return stations_clock(stations)
    zone = zone_named(str(getattr(place, "time_zone", "") or ""))
    return StationClock(zone=zone) if zone is not None else UTC_CLOCK


def clock_label(place: object) -> str:
    """Whose clock a form's times are typed on: "JFK time (America/New_York)", or "UTC"."""
    clock = clock_of(place)
    if clock.is_utc:
        return "UTC"
    if clock.station:
        return f"{clock.station} time ({clock.zone})"
    return str(clock.zone)


def _text(moment: dt.datetime, *, date: bool, seconds: bool) -> str:
    pattern = ("j M Y, " if date else "") + ("H:i:s" if seconds else "H:i")
    return f"{date_format(moment, pattern)} {moment.tzname()}"


def station_time(
    moment: dt.datetime | None, place: object = None, *, utc: bool = False, date: bool = True, seconds: bool = False
) -> str:
    """``moment`` on the place's clock with its zone; with ``utc``, the same moment in UTC beside it.

    "8 Feb 2013, 11:00 EST"; utc: "8 Feb 2013, 11:00 EST (16:00 UTC)", "8 Feb 2013, 20:00 EST (9 Feb 2013,
    01:00 UTC)" across midnight; date=False: "11:00 EST (16:00 UTC)"; seconds: "14:03:12 EST". "—" for None.
    """
    if moment is None:
        return EMPTY
    clock = clock_of(place)
    local = moment.astimezone(clock.zone)
    text = _text(local, date=date, seconds=seconds)
    if clock.named:
        text += f" at {clock.station}"
    if utc and not clock.is_utc:
        in_utc = moment.astimezone(dt.UTC)
        text += f" ({_text(in_utc, date=date and in_utc.date() != local.date(), seconds=seconds)})"
    return text
