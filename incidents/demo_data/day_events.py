"""The demo's days as the stream of flight status events an operations system would have sent (issue 14, replay).

Each real flight of the CSV gets an evolution in the status feed's format (incidents.flight_feed), made up from a
seed but ending where the flight really ended:

- ``scheduled`` with its schedule and destination, three hours before departure, or by 03:00 local at the latest
  (the day's schedule is out before the first departures);
- a flight that left 15 minutes late or more: ``delayed`` estimates that grow towards its real delay, the first
  90 to 150 minutes before the scheduled departure at a part of it, each later one issued before the previous
  estimate ran out, so a flight that left three hours late was first announced at one to three hours (the
  passenger told "70 minutes" who ends at 200);
- a cancelled flight (no departure time): ``cancelled`` in one of the station's cancellation waves, as airlines
  cancel a snowstorm's flights in blocks, hours ahead (for Nemo, on 8 February 2013, thousands at dawn): the
  morning's departures at 03:30 local, the afternoon's at 09:30, the evening's at 13:30 (never later than an hour
  before the flight). No estimate of an hour or more is given before the day's first wave: the disruption starts
  with it, as it did, so detection sees it whole;
- ``departed`` at the real departure and ``arrived`` at the real arrival, or ``diverted`` for the three flights
  that left and never arrived where they were going (the data set does not say where they went).

Every event carries the flight's whole state as it is known then (schedule, estimates, actual times, delay), so
the newest event alone says where the flight is: delivered out of order, with the older ones stale, the events
end in the state they reach in order. Times are UTC, from the CSV's local clocks (New York for departures, the
destination's zone for arrivals, which may fall on the next day).

Pure and deterministic: no database, no clock; the same flights and seed give the same events, byte for byte.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Sequence
from typing import Any

from care.core.station_time import zone_named
from care.core.stations import station
from incidents.demo_data import NEW_YORK, Flight, local_time

DEFAULT_SEED = 20130208
# A departure this late was announced as delayed beforehand; below it the board just showed the schedule.
DELAY_ANNOUNCED_FROM = 15
SCHEDULE_LEAD = dt.timedelta(hours=3)
SCHEDULE_OUT_BY = dt.time(3, 0)  # before the first wave of cancellations
# The first estimate: this many minutes before the scheduled departure, at this share of the real delay.
FIRST_ESTIMATE_BEFORE = (90, 150)
FIRST_ESTIMATE_SHARE = (0.30, 0.55)
# A new estimate comes at least this long before the previous one would have run out.
REVISED_BEFORE = dt.timedelta(minutes=5)
# Delays shorter than this get one estimate; longer ones two to four (four only from two hours on).
ONE_ESTIMATE_BELOW = 30
LONG_DELAY = 120
# The cancellation waves: flights scheduled before each bound (local) are cancelled at its time, within a few minutes.
CANCELLATION_WAVES = (
    (dt.time(12, 0), dt.time(3, 30)),
    (dt.time(17, 0), dt.time(9, 30)),
    (dt.time.max, dt.time(13, 30)),
)
WAVE_SPREAD = (0, 4)  # minutes after the wave's time
CANCELLED_AT_LATEST = dt.timedelta(hours=1)  # before the scheduled departure
# A delay of an hour or more is announced only after the day's first wave (the disruption starts with it).
DISRUPTING_DELAY = 60
AFTER_FIRST_WAVE = dt.timedelta(minutes=5)
ONE_MINUTE = dt.timedelta(minutes=1)


def _zone_of(code: str) -> dt.tzinfo:
    # Every destination of the CSV is known to airportsdata; New York is only the fallback for a made-up one.
    return zone_named(station(code).time_zone) or NEW_YORK


def _first_after(hhmm: int, zone: dt.tzinfo, after: dt.datetime) -> dt.datetime:
    """The first instant after ``after`` whose local clock in ``zone`` reads ``hhmm`` (an arrival after midnight,
    or in another zone, lands on its own day: no flight of the data set is in the air for a day)."""
    day = after.astimezone(zone).date()
    while True:
        moment = dt.datetime.combine(day, local_time(hhmm), tzinfo=zone)
        if moment > after:
            return moment
        day += dt.timedelta(days=1)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def _event_id(flight: Flight, sequence: int) -> str:
    return f"{flight.origin}-{flight.date.isoformat()}-{flight.carrier}{flight.number}-{sequence}"


class _Timeline:
    """One flight's events, numbered in order, each strictly after the one before.

    Every event carries the flight's whole state as the operations system knows it then (schedule, estimate,
    actual times, delay): the newest event alone says where the flight is, so a feed that delivers them out of
    order (the older ones stale) ends in the state of one that delivers them in order.
    """

    def __init__(self, flight: Flight, state: dict[str, Any]) -> None:
        self.flight = flight
        self.events: list[dict[str, Any]] = []
        self.state = state
        self._last: dt.datetime | None = None

    def add(self, at: dt.datetime, status: str, **fields: Any) -> dt.datetime:
        if self._last is not None and at <= self._last:
            at = self._last + ONE_MINUTE
        self._last = at
        self.state.update(fields)
        flight = self.flight
        self.events.append(
            {
                "event_id": _event_id(flight, len(self.events) + 1),
                "occurred_at": _iso(at),
                "carrier": flight.carrier,
                "flight_number": flight.number,
                "flight_date": flight.date.isoformat(),
                "origin": flight.origin,
                "status": status,
                **self.state,
            }
        )
        return at


def _wave(flight: Flight, scheduled: dt.datetime, rng: random.Random) -> dt.datetime:
    """When ``flight`` is cancelled: in the wave for its departure's local time, at the latest an hour before."""
    local = scheduled.astimezone(NEW_YORK).time()
    at = next(wave for bound, wave in CANCELLATION_WAVES if local < bound)
    moment = dt.datetime.combine(flight.date, at, tzinfo=NEW_YORK) + dt.timedelta(minutes=rng.randint(*WAVE_SPREAD))
    return min(moment, scheduled - CANCELLED_AT_LATEST)


def _first_wave(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, CANCELLATION_WAVES[0][1], tzinfo=NEW_YORK)


def _estimates(delay: int, rng: random.Random) -> list[int]:
    """Growing estimates (minutes) ending at the real ``delay``: the first at a part of it."""
    if delay < ONE_ESTIMATE_BELOW:
        return [delay]
    count = rng.randint(2, 4 if delay >= LONG_DELAY else 3)
    first = max(DELAY_ANNOUNCED_FROM, round(delay * rng.uniform(*FIRST_ESTIMATE_SHARE)))
    middle = [rng.randint(first, delay) for _ in range(count - 2)]
    return sorted({first, *middle, delay})


def _delayed(
    timeline: _Timeline, rng: random.Random, *, scheduled: dt.datetime, arrival: dt.datetime | None, delay: int
) -> None:
    """The estimates of a flight that left ``delay`` minutes late, each issued before the previous one ran out."""
    estimates = _estimates(delay, rng)
    departure = scheduled + dt.timedelta(minutes=delay)
    first_at = scheduled - dt.timedelta(minutes=rng.randint(*FIRST_ESTIMATE_BEFORE))
    if estimates[-1] >= DISRUPTING_DELAY:
        first_at = max(first_at, _first_wave(timeline.flight.date) + AFTER_FIRST_WAVE)
    last_call = departure - dt.timedelta(minutes=10)
    at = first_at
    for index, minutes in enumerate(estimates):
        if index:
            planned = first_at + (last_call - first_at) * index / (len(estimates) - 1)
            planned += dt.timedelta(minutes=rng.randint(-10, 10))
            ran_out = scheduled + dt.timedelta(minutes=estimates[index - 1]) - REVISED_BEFORE
            at = max(at + ONE_MINUTE, min(planned, ran_out))
        at = timeline.add(at, "delayed", **_estimate_fields(scheduled, arrival, minutes))


def _estimate_fields(scheduled: dt.datetime, arrival: dt.datetime | None, minutes: int) -> dict[str, Any]:
    late = dt.timedelta(minutes=minutes)
    return {
        "estimated_departure_at": _iso(scheduled + late),
        "estimated_arrival_at": None if arrival is None else _iso(arrival + late),
        "delay_minutes": minutes,
    }


def flight_events(flight: Flight, *, seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """One flight's events, in order. Its own generator, so a flight's story does not depend on the others'."""
    rng = random.Random(f"{seed}:{flight.origin}:{flight.date.isoformat()}:{flight.carrier}{flight.number}")
    scheduled = flight.scheduled_departure_at
    zone = _zone_of(flight.destination)
    arrival = None if flight.scheduled_arrival is None else _first_after(flight.scheduled_arrival, zone, scheduled)
    # The whole state, from the first event on: it also clears what a flight row held before the replay.
    timeline = _Timeline(
        flight,
        {
            "destination": flight.destination,
            "scheduled_departure_at": _iso(scheduled),
            "scheduled_arrival_at": None if arrival is None else _iso(arrival),
            "estimated_departure_at": None,
            "estimated_arrival_at": None,
            "actual_departure_at": None,
            "actual_arrival_at": None,
            "delay_minutes": 0,
        },
    )
    schedule_out_by = dt.datetime.combine(flight.date, SCHEDULE_OUT_BY, tzinfo=NEW_YORK)
    timeline.add(min(scheduled - SCHEDULE_LEAD, schedule_out_by), "scheduled")
    if flight.cancelled:
        # A cancelled flight is no delay (as the demo's own Flight says).
        timeline.add(_wave(flight, scheduled, rng), "cancelled", delay_minutes=0)
        return timeline.events
    delay = flight.departure_delay or 0
    if delay >= DELAY_ANNOUNCED_FROM:
        _delayed(timeline, rng, scheduled=scheduled, arrival=arrival, delay=delay)
    # The real departure from the schedule and the delay: exact, and right across midnight (2400 and later).
    departed = timeline.add(
        scheduled + dt.timedelta(minutes=delay), "departed",
        actual_departure_at=_iso(scheduled + dt.timedelta(minutes=delay)), delay_minutes=max(0, delay),
    )  # fmt: skip
    landed = None if flight.arrival is None else _first_after(flight.arrival, zone, departed)
    if flight.diverted:
        # It landed (when the data set says, else when it was due), but not where it was going.
        due = arrival + dt.timedelta(minutes=max(0, delay)) if arrival is not None else departed + dt.timedelta(hours=1)
        timeline.add(landed or due, "diverted")
    elif landed is not None:
        timeline.add(landed, "arrived", actual_arrival_at=_iso(landed))
    return timeline.events


def _order(event: dict[str, Any]) -> tuple[dt.datetime, str]:
    return (dt.datetime.fromisoformat(event["occurred_at"]), event["event_id"])


def day_events(*, flights: Sequence[Flight], seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """Every event of these flights, sorted by occurred_at, then event_id (the order the feed folds them in)."""
    return sorted((event for flight in flights for event in flight_events(flight, seed=seed)), key=_order)


def shuffled_with_repeats(events: Iterable[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """The same events out of order, about one in five sent twice (as copies): what a flaky feed delivers."""
    rng = random.Random(seed)
    events = list(events)
    repeats = [dict(event) for event in rng.sample(events, k=max(1, len(events) // 5))] if events else []
    stream = events + repeats
    rng.shuffle(stream)
    return stream
