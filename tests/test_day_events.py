"""The demo's days as flight status events, and the replay that feeds them on a simulated clock (issue 14)."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from collections import Counter, defaultdict
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from care.core.actors import SystemActor
from incidents.demo_data import NEW_YORK, read_flights
from incidents.demo_data import Flight as CsvFlight
from incidents.demo_data.day_events import (
    CANCELLATION_WAVES,
    DELAY_ANNOUNCED_FROM,
    FIRST_ESTIMATE_BEFORE,
    day_events,
    flight_events,
    shuffled_with_repeats,
)
from incidents.flight_feed import flight_events_apply, outcome_counts
from incidents.flight_validate import TIME_FIELDS, CleanEvent, event_validate
from incidents.flights import flights_for_affected
from incidents.management.commands import replay_day
from incidents.models import AffectedCustomer, Flight, FlightStatus, FlightStatusEvent
from incidents.replay import replay_batches
from tests.clock import Clock
from tests.factories import AffectedCustomerFactory, IncidentFactory
from tests.test_streams import _eager_celery_and_outbox  # noqa: F401 - autouse: what the hooks publish runs inline

FLIGHTS = read_flights()
FRIDAY, SATURDAY = dt.date(2013, 2, 8), dt.date(2013, 2, 9)
FEED = SystemActor("replay test")
MINUTE = dt.timedelta(minutes=1)
# Friday 13:00 in New York, when the replay's feed receives the events (the tests' own clock, never the wall's).
RECEIVED = dt.datetime(2013, 2, 8, 18, 0, tzinfo=dt.UTC)


def at(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def the(label: str, day: dt.date, origin: str) -> CsvFlight:
    return next(f for f in FLIGHTS if f"{f.carrier}{f.number}" == label and f.date == day and f.origin == origin)


def by_flight(events: list[dict[str, Any]]) -> dict[tuple[str, str, str, str], list[dict[str, Any]]]:
    grouped: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        grouped[(event["carrier"], event["flight_number"], event["flight_date"], event["origin"])].append(event)
    return grouped


def csv_key(flight: CsvFlight) -> tuple[str, str, str, str]:
    return (flight.carrier, flight.number, flight.date.isoformat(), flight.origin)


def real_end(flight: CsvFlight) -> tuple[str, int]:
    """How the flight really ended: (status, delay) as the feed must leave it."""
    if flight.cancelled:
        return FlightStatus.CANCELLED, 0
    status = FlightStatus.DIVERTED if flight.diverted else FlightStatus.ARRIVED
    return status, max(0, flight.departure_delay or 0)


def delays(events: list[dict[str, Any]]) -> list[int]:
    return [event["delay_minutes"] for event in events if event["status"] == FlightStatus.DELAYED]


def check_flight(flight: CsvFlight, events: list[dict[str, Any]]) -> None:
    """One flight's timeline: valid, strictly in time, the schedule first, estimates growing, the real ending."""
    assert all(isinstance(event_validate(0, event), CleanEvent) for event in events)
    moments = [at(event["occurred_at"]) for event in events]
    assert moments == sorted(set(moments)), "a flight's events are strictly in time: none can be stale"
    assert [event["event_id"] for event in events] == [
        f"{flight.origin}-{flight.date}-{flight.carrier}{flight.number}-{n}" for n in range(1, len(events) + 1)
    ]
    scheduled = flight.scheduled_departure_at
    assert events[0]["status"] == FlightStatus.SCHEDULED
    assert at(events[0]["scheduled_departure_at"]) == scheduled
    assert moments[0] <= scheduled - dt.timedelta(hours=3)
    estimates = delays(events)
    assert estimates == sorted(estimates)
    status, delay = real_end(flight)
    assert (events[-1]["status"], events[-1]["delay_minutes"]) == (status, delay)
    if flight.cancelled:
        assert [event["status"] for event in events] == ["scheduled", "cancelled"]
        assert moments[-1] <= scheduled - dt.timedelta(hours=1)
        cancelled_at = moments[-1].astimezone(NEW_YORK)
        waves = [dt.datetime.combine(flight.date, wave, tzinfo=NEW_YORK) for _bound, wave in CANCELLATION_WAVES]
        in_a_wave = any(wave <= cancelled_at <= wave + 4 * MINUTE for wave in waves)
        assert in_a_wave or cancelled_at == scheduled - dt.timedelta(hours=1), cancelled_at
        return
    departed = next(event for event in events if event["status"] == FlightStatus.DEPARTED)
    left = scheduled + (flight.departure_delay or 0) * MINUTE  # early departures too: the CSV's own minutes
    assert at(departed["occurred_at"]) == at(departed["actual_departure_at"]) == left
    if delay >= DELAY_ANNOUNCED_FROM:
        assert estimates[-1] == delay
        first = next(event for event in events if event["status"] == FlightStatus.DELAYED)
        before = scheduled - at(first["occurred_at"])
        earliest, latest = (dt.timedelta(minutes=minutes) for minutes in FIRST_ESTIMATE_BEFORE)
        assert earliest <= before <= latest
        for previous, estimate in itertools.pairwise(e for e in events if e["status"] == FlightStatus.DELAYED):
            # A new estimate is given before the previous one ran out.
            assert at(estimate["occurred_at"]) < at(previous["estimated_departure_at"])
    else:
        assert estimates == []


# --- the events, without the database ----------------------------------------------------------------------------
def test_the_same_seed_gives_the_same_events_and_another_seed_another_day() -> None:
    events = day_events(flights=FLIGHTS)
    assert events == day_events(flights=list(reversed(FLIGHTS)))
    other = day_events(flights=FLIGHTS, seed=7)
    assert other != events


def test_every_event_is_valid_ordered_unique_and_every_flight_ends_as_it_really_did() -> None:
    events = day_events(flights=FLIGHTS)
    assert [(at(e["occurred_at"]), e["event_id"]) for e in events] == sorted(
        (at(e["occurred_at"]), e["event_id"]) for e in events
    )
    assert len({event["event_id"] for event in events}) == len(events)
    assert all(at(e["occurred_at"]).utcoffset() == dt.timedelta(0) for e in events)
    grouped = by_flight(events)
    assert len(grouped) == len(FLIGHTS)
    for flight in FLIGHTS:
        check_flight(flight, grouped[csv_key(flight)])
    ends = Counter(group[-1]["status"] for group in grouped.values())
    assert ends == {"cancelled": 865, "arrived": 746, "diverted": 3}


def test_times_are_utc_from_local_clocks_across_midnight_and_zones() -> None:
    # UA 1071 Newark to Aguadilla (Puerto Rico, UTC-4), Saturday 20:35 EST; left 20:59, landed 01:24 local on Sunday.
    events = flight_events(the("UA1071", SATURDAY, "EWR"))
    assert events[0]["scheduled_departure_at"] == "2013-02-10T01:35:00+00:00"
    assert events[0]["scheduled_arrival_at"] == "2013-02-10T05:26:00+00:00"
    assert events[-1]["actual_departure_at"] == "2013-02-10T01:59:00+00:00"
    assert (events[-1]["status"], events[-1]["actual_arrival_at"]) == ("arrived", "2013-02-10T05:24:00+00:00")
    # B6 608 Kennedy to Portland: due 23:58 EST on Saturday, landed 00:10 on Sunday (12 minutes late).
    events = flight_events(the("B6608", SATURDAY, "JFK"))
    assert at(events[-1]["actual_arrival_at"]) - at(events[-1]["scheduled_arrival_at"]) == 12 * MINUTE
    assert events[-1]["actual_arrival_at"] == "2013-02-10T05:10:00+00:00"
    # The schedule is out by 03:00 in New York at the latest, three hours ahead for the first departures.
    first = min(at(e["occurred_at"]) for e in day_events(flights=[f for f in FLIGHTS if f.date == FRIDAY]))
    assert first == dt.datetime(2013, 2, 8, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))


def test_a_long_delay_is_first_announced_at_one_to_three_hours() -> None:
    long_delays = [f for f in FLIGHTS if not f.cancelled and (f.departure_delay or 0) >= 180]
    assert len(long_delays) == 11
    firsts = [delays(flight_events(flight))[0] for flight in long_delays]
    told_less = [first for first in firsts if 60 <= first < 180]
    assert len(told_less) >= 8, firsts  # typically, not by decree: seeded shares of the real delay
    assert all(first < (flight.departure_delay or 0) for first, flight in zip(firsts, long_delays, strict=True))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    sample=st.lists(st.sampled_from(FLIGHTS), max_size=6, unique=True),
)
def test_any_seed_gives_each_flight_a_timeline_that_ends_where_it_really_did(seed: int, sample: list[Any]) -> None:
    events = day_events(flights=sample, seed=seed)
    assert [(at(e["occurred_at"]), e["event_id"]) for e in events] == sorted(
        (at(e["occurred_at"]), e["event_id"]) for e in events
    )
    grouped = by_flight(events)
    for flight in sample:
        check_flight(flight, grouped[csv_key(flight)])


def test_shuffled_with_repeats_holds_the_same_events_some_twice() -> None:
    events = day_events(flights=FLIGHTS[:50])
    stream = shuffled_with_repeats(events, seed=3)
    assert stream != events
    ids = Counter(event["event_id"] for event in stream)
    assert set(ids) == {event["event_id"] for event in events}
    assert sum(ids.values()) - len(ids) == len(events) // 5
    assert stream == shuffled_with_repeats(events, seed=3)


def test_the_replay_steps_through_the_events_in_batches_due_at_each_moment() -> None:
    start = dt.datetime(2013, 2, 8, 12, 0, tzinfo=dt.UTC)
    events = [
        {"event_id": "b", "occurred_at": (start - 10 * MINUTE).isoformat()},
        {"event_id": "a", "occurred_at": (start - 10 * MINUTE).isoformat()},
        {"event_id": "c", "occurred_at": (start + 15 * MINUTE).isoformat()},
        {"event_id": "d", "occurred_at": (start + 15 * MINUTE + dt.timedelta(seconds=1)).isoformat()},
        {"event_id": "e", "occurred_at": (start + 45 * MINUTE).isoformat()},
        {"event_id": "late", "occurred_at": (start + 46 * MINUTE).isoformat()},
        {"event_id": "naive", "occurred_at": "2013-02-08T12:00:00"},
    ]
    steps = list(replay_batches(events, start=start, end=start + 45 * MINUTE, step=15 * MINUTE))
    assert [(moment - start, [e["event_id"] for e in batch]) for moment, batch in steps] == [
        (0 * MINUTE, ["naive", "a", "b"]),  # the history before the start, and what the feed will reject
        (15 * MINUTE, ["c"]),
        (30 * MINUTE, ["d"]),
        (45 * MINUTE, ["e"]),  # "late" is after the end: not replayed
    ]
    off_grid = list(replay_batches(events[:5], start=start, end=start + 20 * MINUTE, step=15 * MINUTE))
    assert [moment - start for moment, _ in off_grid] == [0 * MINUTE, 15 * MINUTE, 20 * MINUTE]
    with pytest.raises(ValueError, match="positive"):
        next(replay_batches(events, start=start, end=start, step=dt.timedelta(0)))
    with pytest.raises(ValueError, match="ends before"):
        next(replay_batches(events, start=start, end=start - MINUTE, step=MINUTE))


# --- through the status feed, on PostgreSQL ----------------------------------------------------------------------
def feed(events: list[dict[str, Any]], *, batch: int, source: str) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for start in range(0, len(events), batch):
        totals.update(
            outcome_counts(flight_events_apply(events=events[start : start + batch], source=source, actor=FEED))
        )
    return dict(totals)


def end_states() -> dict[tuple[str, str, str, str], dict[str, Any]]:
    return {
        (f.carrier, f.number, f.date.isoformat(), f.origin): {
            "status": f.status,
            "delay_minutes": f.delay_minutes,
            "destination": f.destination,
            **{name: getattr(f, name) for name in TIME_FIELDS},
            "last_event_id": f.last_event_id,
        }
        for f in Flight.objects.all()
    }


def the_last_events(events: list[dict[str, Any]]) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """Each flight's state as its newest event states it: what any order of delivery must end in."""
    return {
        key: {
            "status": group[-1]["status"],
            "delay_minutes": group[-1]["delay_minutes"],
            "destination": group[-1]["destination"],
            **{name: group[-1][name] and at(group[-1][name]) for name in TIME_FIELDS},
            "last_event_id": group[-1]["event_id"],
        }
        for key, group in by_flight(events).items()
    }


def passengers_on(label: str, day: dt.date, origin: str, count: int = 2) -> list[int]:
    flight = the(label, day, origin)
    incident = IncidentFactory.create()
    rows = [
        AffectedCustomerFactory.create(
            incident=incident, carrier=flight.carrier, flight_number=flight.number, flight_date=day, origin=origin,
            destination=flight.destination, cancelled=False, delay_minutes=0,
        ).pk
        for _ in range(count)
    ]  # fmt: skip
    flights_for_affected(incident_ids=[incident.pk])
    return rows


@pytest.mark.postgres
@pytest.mark.django_db
def test_fed_in_order_every_flight_ends_as_the_csv_says(clock: Clock) -> None:
    clock.at(RECEIVED)
    rows = passengers_on("DL2003", FRIDAY, "LGA")  # left 273 minutes late
    events = day_events(flights=FLIGHTS)
    counts = feed(events, batch=5_000, source="replay")
    assert counts == {"applied": len(events), "stale": 0, "duplicate": 0, "rejected": 0}
    states = end_states()
    assert states == the_last_events(events)
    assert {key: (s["status"], s["delay_minutes"]) for key, s in states.items()} == {
        csv_key(flight): real_end(flight) for flight in FLIGHTS
    }
    # The Done-when case: told one to three hours first, three hours or more in the end, and the passengers moved.
    told = FlightStatusEvent.objects.filter(
        carrier="DL", flight_number="2003", flight_date=FRIDAY, origin="LGA", status="delayed"
    ).order_by("occurred_at")
    said = [event.fields["delay_minutes"] for event in told]
    assert 60 <= said[0] < 180 <= said[-1]
    impacts = AffectedCustomer.objects.filter(pk__in=rows).values_list(
        "delay_minutes", "cancelled", "impact_changed_at"
    )
    assert set(impacts) == {(273, False, RECEIVED)}


@pytest.mark.postgres
@pytest.mark.django_db
def test_fed_shuffled_with_repeats_the_day_ends_the_same_and_nothing_is_applied_twice(clock: Clock) -> None:
    clock.at(RECEIVED)
    events = day_events(flights=[f for f in FLIGHTS if f.date == SATURDAY])
    stream = shuffled_with_repeats(events, seed=11)
    counts = feed(stream, batch=700, source="replay")
    assert counts["rejected"] == 0
    assert counts["duplicate"] == len(stream) - len(events)
    assert counts["applied"] + counts["stale"] == len(events)
    assert counts["stale"] > 0  # out of order indeed: older events arrived after newer ones
    assert end_states() == the_last_events(events)
    received = Counter(
        FlightStatusEvent.objects.filter(outcome__in=("applied", "stale")).values_list("event_id", flat=True)
    )
    assert set(received.values()) == {1}
    assert len(received) == len(events)
    # Sent again, the whole stream changes nothing: every event a duplicate.
    again = feed(stream, batch=5_000, source="replay")
    assert again == {"applied": 0, "stale": 0, "duplicate": len(stream), "rejected": 0}


# --- manage.py replay_day ----------------------------------------------------------------------------------------
HOOK_CALLS: list[dt.datetime] = []


def remember_now(*, now: dt.datetime) -> dict[str, int]:
    """An after-step hook for the test: remembers the simulated moments it was called with."""
    HOOK_CALLS.append(now)
    return {"calls": len(HOOK_CALLS)}


@pytest.mark.postgres
@pytest.mark.django_db
def test_replay_day_feeds_a_few_flights_step_by_step_and_runs_the_hooks(clock: Clock, monkeypatch: Any) -> None:
    clock.at(RECEIVED)
    rows = passengers_on("DL2003", FRIDAY, "LGA")
    cancelled = next(f for f in FLIGHTS if f.date == FRIDAY and f.origin == "LGA" and f.cancelled)
    labels = f"DL2003,{cancelled.carrier}{cancelled.number}"
    HOOK_CALLS.clear()
    monkeypatch.setattr(replay_day, "AFTER_EACH_STEP", ("tests.test_day_events.remember_now",))
    out = io.StringIO()
    call_command(
        "replay_day", "--date", "2013-02-08", "--stations", "LGA", "--flights", labels, "--step-minutes", "30",
        "--speed", "0", "--no-bookings", stdout=out,
    )  # fmt: skip
    events = day_events(flights=[the("DL2003", FRIDAY, "LGA"), cancelled])
    text = out.getvalue()
    assert f"Replaying {len(events)} events from" in text
    assert f"events: applied {len(events)}, stale 0, duplicate 0, rejected 0;" in text
    # Every step ran the hooks with its own simulated moment: the events' first to last, 30 minutes apart.
    first, last = at(events[0]["occurred_at"]), at(events[-1]["occurred_at"])
    assert HOOK_CALLS[0] == first
    assert HOOK_CALLS[-1] == last
    # Every step 30 minutes after the one before, but the last: the end is off the grid.
    assert {later - earlier for earlier, later in itertools.pairwise(HOOK_CALLS[:-1])} == {30 * MINUTE}
    assert f"{len(HOOK_CALLS)} steps, {len(events)} events" in text
    assert "remember_now: calls 1" in text
    assert "1 flights moved, 2 passengers moved" in text  # DL 2003's first estimate reaches its two passengers
    assert (
        Flight.objects.get(carrier="DL", number="2003", origin="LGA", date=FRIDAY).status,
        Flight.objects.get(carrier=cancelled.carrier, number=cancelled.number, origin="LGA", date=FRIDAY).status,
    ) == (FlightStatus.ARRIVED, FlightStatus.CANCELLED)
    assert set(AffectedCustomer.objects.filter(pk__in=rows).values_list("delay_minutes", flat=True)) == {273}
    # Replayed again under the same source, nothing changes twice.
    out = io.StringIO()
    call_command("replay_day", "--stations", "LGA", "--flights", labels, "--speed", "0", "--no-hooks", stdout=out)
    assert f"applied 0, stale 0, duplicate {len(events)}, rejected 0; 0 flight changes" in out.getvalue()


@pytest.mark.django_db
def test_replay_day_refuses_what_the_demo_does_not_have() -> None:
    with pytest.raises(CommandError, match="demo's days"):
        call_command("replay_day", "--date", "2013-02-10", "--speed", "0")
    with pytest.raises(CommandError, match="demo's stations"):
        call_command("replay_day", "--stations", "BOS", "--speed", "0")
    with pytest.raises(CommandError, match="No flight"):
        call_command("replay_day", "--flights", "ZZ1", "--speed", "0")
    with pytest.raises(CommandError, match="offset"):
        call_command("replay_day", "--flights", "DL2003", "--start", "2013-02-08T06:00", "--speed", "0")


def test_each_days_disruption_starts_with_a_wave_of_cancellations_detection_can_see() -> None:
    """No delay of an hour or more is announced before a station's first wave of cancellations, and that wave alone
    is many cancellations at once: the disruption is seen whole, and no passenger's flight is disrupted before it."""
    events = day_events(flights=FLIGHTS)
    for (origin, day), group in _by_station_day(events).items():
        disrupting = sorted(
            (at(event["occurred_at"]), event["status"])
            for event in group
            if event["status"] == "cancelled" or (event["status"] == "delayed" and event["delay_minutes"] >= 60)
        )
        first_moment, first_status = disrupting[0]
        assert first_status == "cancelled", (origin, day)
        wave = [moment for moment, status in disrupting if moment <= first_moment + dt.timedelta(minutes=5)]
        assert len(wave) >= 3, (origin, day, len(wave))


def _by_station_day(events: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for event in events:
        grouped.setdefault((event["origin"], event["flight_date"]), []).append(event)
    return grouped
